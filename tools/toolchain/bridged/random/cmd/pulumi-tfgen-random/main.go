package main

import (
"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

"permacoop.local/pulumi-random/prov"
)

func main() { tfgen.Main("random", prov.Provider()) }
