package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/spf13/afero"
)

// packageSchema generates the Pulumi package schema of a bridged provider from its mapping, as
// the upstream build's `tfgen schema` step does, but in memory and without documentation (the
// engine uses the schema for `pulumi package get-schema` and type information, not for docs).
func packageSchema(info tfbridge.ProviderInfo) []byte {
	generator, err := tfgen.NewGenerator(tfgen.GeneratorOptions{
		Package:       info.Name,
		Version:       info.Version,
		Language:      tfgen.Schema,
		ProviderInfo:  info,
		Root:          afero.NewMemMapFs(),
		Sink:          diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never}),
		XInMemoryDocs: true,
		SkipDocs:      true,
		SkipExamples:  true,
	})
	if err != nil {
		fatal("creating the %s schema generator: %v", info.Name, err)
	}
	generated, err := generator.Generate()
	if err != nil {
		fatal("generating the %s schema: %v", info.Name, err)
	}
	generated.PackageSpec.Version = info.Version
	bytes, err := json.Marshal(generated.PackageSpec)
	if err != nil {
		fatal("encoding the %s schema: %v", info.Name, err)
	}
	return bytes
}

// unmapped lists the Terraform resources and data sources a mapping leaves out, for
// ProviderInfo.IgnoreMappings: the bridge refuses to start when any is neither mapped nor
// ignored. A program that uses an unmapped one gets the engine's "unknown resource type" error.
func unmapped(p shim.Provider, info tfbridge.ProviderInfo) []string {
	var names []string
	p.ResourcesMap().Range(func(key string, _ shim.Resource) bool {
		if _, ok := info.Resources[key]; !ok {
			names = append(names, key)
		}
		return true
	})
	p.DataSourcesMap().Range(func(key string, _ shim.Resource) bool {
		if _, ok := info.DataSources[key]; !ok {
			names = append(names, key)
		}
		return true
	})
	sort.Strings(names)
	return names
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
