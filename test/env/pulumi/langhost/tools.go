//go:build tools

// Package tools pins the Node.js language host's main package, built by ../build.sh.
package tools

import _ "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs"
