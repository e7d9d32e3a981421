package main

import (
"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

"permacoop.local/pulumi-scaleway/prov"
)

func main() { tfgen.MainWithMuxer("scaleway", prov.Provider()) }
