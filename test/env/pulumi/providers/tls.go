package main

import (
	"context"

	tlsshim "github.com/hashicorp/terraform-provider-tls/shim"
	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
)

// TLSVersion is the plugin version @pulumi/tls 5.6.1 asks the engine for.
const TLSVersion = "5.6.1"

// tlsResources and tlsDataSources map every resource and data source of the Terraform tls
// provider to the tokens of @pulumi/tls 5.6.1.
var tlsResources = map[string]*tfbridge.ResourceInfo{
	"tls_cert_request":        {Tok: "tls:index/certRequest:CertRequest"},
	"tls_locally_signed_cert": {Tok: "tls:index/locallySignedCert:LocallySignedCert"},
	"tls_private_key":         {Tok: "tls:index/privateKey:PrivateKey"},
	"tls_self_signed_cert":    {Tok: "tls:index/selfSignedCert:SelfSignedCert"},
}

var tlsDataSources = map[string]*tfbridge.DataSourceInfo{
	"tls_certificate": {Tok: "tls:index/getCertificate:getCertificate"},
	"tls_public_key":  {Tok: "tls:index/getPublicKey:getPublicKey"},
}

func serveTLS() {
	ctx := context.Background()
	p := pfbridge.ShimProvider(tlsshim.NewProvider())
	info := tfbridge.ProviderInfo{
		P:           p,
		Name:        "tls",
		Version:     TLSVersion,
		Resources:   tlsResources,
		DataSources: tlsDataSources,
	}
	info.IgnoreMappings = unmapped(p, info)
	// Filled by the schema generation below, as the upstream build's tfgen step fills
	// bridge-metadata.json.
	info.MetadataInfo = tfbridge.NewProviderMetadata(nil)
	pfbridge.Main(ctx, info.Name, info, pfbridge.ProviderMetadata{PackageSchema: packageSchema(info)})
}
