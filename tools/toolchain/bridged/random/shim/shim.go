// Package shim exposes the upstream provider constructor, which lives in an
// internal package: this module's path sits under the upstream module path.
package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream Terraform random provider.
func NewProvider() tfpf.Provider { return provider.New() }
