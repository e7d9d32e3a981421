// Package shim exposes the upstream provider constructors, which live in an
// internal package: this module's path sits under the upstream module path.
package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// SDKProvider returns the SDKv2 half of the upstream Terraform docker provider.
func SDKProvider(version string) *schema.Provider { return provider.New(version)() }

// PFProvider returns the plugin-framework half of the upstream provider.
func PFProvider(version string) tfpf.Provider { return provider.NewFrameworkProvider(version)() }
