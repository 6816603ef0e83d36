// Package shim gives the bridge the Terraform tls provider's constructor, which lives in an
// internal package. Go lets a package import another's internal packages only from inside the
// same import-path tree, so this module sits at .../terraform-provider-tls/shim (the module zip
// of pulumi-tls's own shim is not served by the Go module proxy).
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns the Terraform tls provider.
func NewProvider() provider.Provider { return upstream.New() }
