// Command providers is one executable for the three Terraform-bridged resource providers the
// Dynamic Cluster program uses. It serves the provider named by its own file name,
// pulumi-resource-<name> (the build installs it under each name), so the bridge and its large
// dependency tree are compiled and linked once instead of three times.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// serve runs the provider in the foreground; each serves the gRPC protocol the engine speaks.
var providers = map[string]func(){
	"openstack": serveOpenStack,
	"random":    serveRandom,
	"tls":       serveTLS,
}

func main() {
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "pulumi-resource-")
	serve, ok := providers[name]
	if !ok {
		names := make([]string, 0, len(providers))
		for n := range providers {
			names = append(names, "pulumi-resource-"+n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "this executable is a Pulumi resource provider; run it as one of %s (got %q)\n",
			strings.Join(names, ", "), filepath.Base(os.Args[0]))
		os.Exit(2)
	}
	serve()
}
