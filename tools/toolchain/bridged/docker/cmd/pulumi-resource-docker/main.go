package main

import (
"context"
_ "embed"

"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

"permacoop.local/pulumi-docker/prov"
)

//go:embed schema.json
var schema []byte

func main() { tfbridge.MainWithMuxer(context.Background(), "docker", prov.Provider(), schema) }
