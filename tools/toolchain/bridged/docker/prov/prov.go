// Package prov maps the Terraform docker provider onto Pulumi tokens.
package prov

import (
	"context"
	_ "embed"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Version is set at link time.
var Version = "0.0.0-dev"

//go:embed bridge-metadata.json
var bridgeMetadata []byte

// Provider returns the bridge configuration.
func Provider() tfbridge.ProviderInfo {
	ctx := context.Background()
	r := func(name string) *tfbridge.ResourceInfo {
		return &tfbridge.ResourceInfo{Tok: tfbridge.MakeResource("docker", "index", name)}
	}
	d := func(name string) *tfbridge.DataSourceInfo {
		return &tfbridge.DataSourceInfo{Tok: tfbridge.MakeDataSource("docker", "index", name)}
	}
	return tfbridge.ProviderInfo{
		P:            pf.MuxShimWithPF(ctx, shimv2.NewProvider(shim.SDKProvider(Version)), shim.PFProvider(Version)),
		Name:         "docker",
		Version:      Version,
		DisplayName:  "Docker",
		Publisher:    "Pulumi",
		GitHubOrg:    "kreuzwerker",
		Description:  "A Pulumi package for interacting with Docker in Pulumi programs",
		License:      "Apache-2.0",
		Homepage:     "https://pulumi.io",
		Repository:   "https://github.com/pulumi/pulumi-docker",
		MetadataInfo: tfbridge.NewProviderMetadata(bridgeMetadata),
		Config: map[string]*tfbridge.SchemaInfo{
			"registry_auth": {Name: "registryAuth"},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_buildx_builder": r("BuildxBuilder"),
			"docker_config":         r("ServiceConfig"),
			"docker_container": {
				Tok: tfbridge.MakeResource("docker", "index", "Container"),
				Fields: map[string]*tfbridge.SchemaInfo{
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image":          r("RemoteImage"),
			"docker_network":        r("Network"),
			"docker_plugin":         r("Plugin"),
			"docker_registry_image": r("RegistryImage"),
			"docker_secret":         r("Secret"),
			"docker_service":        r("Service"),
			"docker_tag":            r("Tag"),
			"docker_volume":         r("Volume"),
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image":                    d("getRemoteImage"),
			"docker_logs":                     d("getLogs"),
			"docker_network":                  d("getNetwork"),
			"docker_plugin":                   d("getPlugin"),
			"docker_registry_image":           d("getRegistryImage"),
			"docker_registry_image_manifests": d("getRegistryImageManifests"),
		},
		IgnoreMappings: []string{"docker_compose", "docker_containers", "docker_registry_image_tags"},
	}
}
