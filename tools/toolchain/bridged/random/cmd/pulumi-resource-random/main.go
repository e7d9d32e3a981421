package main

import (
"context"
_ "embed"

"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

"permacoop.local/pulumi-random/prov"
)

//go:embed schema.json
var schema []byte

func main() { tfbridge.Main(context.Background(), "random", prov.Provider(), tfbridge.ProviderMetadata{PackageSchema: schema}) }
