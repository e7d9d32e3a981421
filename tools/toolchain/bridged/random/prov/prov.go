// Package prov maps the Terraform random provider onto Pulumi tokens.
package prov

import (
	_ "embed"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Version is set at link time.
var Version = "0.0.0-dev"

//go:embed bridge-metadata.json
var bridgeMetadata []byte

// Provider returns the bridge configuration.
func Provider() tfbridge.ProviderInfo {
	r := func(name string) *tfbridge.ResourceInfo {
		return &tfbridge.ResourceInfo{Tok: tfbridge.MakeResource("random", "index", name)}
	}
	return tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Version:      Version,
		DisplayName:  "random",
		Publisher:    "Pulumi",
		GitHubOrg:    "hashicorp",
		Description:  "A Pulumi package to safely use randomness in Pulumi programs.",
		License:      "Apache-2.0",
		Homepage:     "https://pulumi.io",
		Repository:   "https://github.com/pulumi/pulumi-random",
		MetadataInfo: tfbridge.NewProviderMetadata(bridgeMetadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			"random_bytes":    r("RandomBytes"),
			"random_id":       r("RandomId"),
			"random_integer":  r("RandomInteger"),
			"random_password": r("RandomPassword"),
			"random_pet":      r("RandomPet"),
			"random_shuffle":  r("RandomShuffle"),
			"random_string":   r("RandomString"),
			"random_uuid":     r("RandomUuid"),
			"random_uuid4":    r("RandomUuid4"),
			"random_uuid7":    r("RandomUuid7"),
		},
	}
}
