package main

import (
	"context"

	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	randomshim "github.com/terraform-providers/terraform-provider-random/shim"
)

// RandomVersion is the plugin version @pulumi/random 4.21.2 asks the engine for.
const RandomVersion = "4.21.2"

// randomResources maps every resource of the Terraform random provider to the tokens of
// @pulumi/random 4.21.2 (`random_<name>` becomes `random:index/random<Name>:Random<Name>`).
var randomResources = map[string]*tfbridge.ResourceInfo{
	"random_bytes":    {Tok: "random:index/randomBytes:RandomBytes"},
	"random_id":       {Tok: "random:index/randomId:RandomId"},
	"random_integer":  {Tok: "random:index/randomInteger:RandomInteger"},
	"random_password": {Tok: "random:index/randomPassword:RandomPassword"},
	"random_pet":      {Tok: "random:index/randomPet:RandomPet"},
	"random_shuffle":  {Tok: "random:index/randomShuffle:RandomShuffle"},
	"random_string":   {Tok: "random:index/randomString:RandomString"},
	"random_uuid":     {Tok: "random:index/randomUuid:RandomUuid"},
	"random_uuid4":    {Tok: "random:index/randomUuid4:RandomUuid4"},
	"random_uuid7":    {Tok: "random:index/randomUuid7:RandomUuid7"},
}

func serveRandom() {
	ctx := context.Background()
	p := pfbridge.ShimProvider(randomshim.NewProvider())
	info := tfbridge.ProviderInfo{
		P:         p,
		Name:      "random",
		Version:   RandomVersion,
		Resources: randomResources,
	}
	info.IgnoreMappings = unmapped(p, info)
	// Filled by the schema generation below, as the upstream build's tfgen step fills
	// bridge-metadata.json.
	info.MetadataInfo = tfbridge.NewProviderMetadata(nil)
	pfbridge.Main(ctx, info.Name, info, pfbridge.ProviderMetadata{PackageSchema: packageSchema(info)})
}
