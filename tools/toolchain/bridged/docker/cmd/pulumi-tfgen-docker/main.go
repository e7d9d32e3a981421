package main

import (
"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

"permacoop.local/pulumi-docker/prov"
)

func main() { tfgen.MainWithMuxer("docker", prov.Provider()) }
