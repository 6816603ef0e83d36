// Package shim gives the bridge the Terraform random provider's constructor, which lives in an
// internal package. Go lets a package import another's internal packages only from inside the
// same import-path tree, so this module sits at .../terraform-provider-random/shim (the module
// zip of pulumi-random's own shim is not served by the Go module proxy).
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the Terraform random provider.
func NewProvider() provider.Provider { return upstream.New() }
