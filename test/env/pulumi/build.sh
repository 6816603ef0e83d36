#!/usr/bin/env bash
# The real Pulumi toolchain for the tests, built from the Go module proxy, pinned and cached:
# the CLI (3.248.0, the Node.js SDK's version), the Node.js language host, and the openstack,
# random and tls resource providers at the npm SDKs' plugin versions. See README.md here for
# what is built from where and why.
#
# Usage: bash test/env/pulumi/build.sh           build what is missing; print the toolchain dir
#        bash test/env/pulumi/build.sh --probe   only ask the proxy for every pinned module (OK/NO)
#
# The toolchain lives outside the clone, in ${DC_CACHE_DIR:-/var/cache/dynamic-cluster}, under a
# key made of everything that goes into it (this script, the three Go modules, the Go version,
# the @pulumi/pulumi version), so a second run, or a fresh clone on the same machine, builds
# nothing. Layout of the printed directory:
#   bin/pulumi, bin/pulumi-language-nodejs, bin/pulumi-resource-pulumi-nodejs
#       (the CLI finds the language host and the dynamic-provider host beside itself; nothing
#       here belongs on PATH)
#   home/plugins/   plugins installed with `pulumi plugin install --file` (PULUMI_HOME layout)
#   versions.txt    what was built
# Stdout is only the directory; progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../../.." && pwd)"
cache_root="${DC_CACHE_DIR:-/var/cache/dynamic-cluster}"

# Go builds with the machine's own Go and never downloads another toolchain; go.sum files are
# committed, so no checksum-database lookup is needed (the proxy serves some modules whose
# sumdb entry it does not).
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

CLI_VERSION=v3.248.0
LANGHOST_VERSION=v3.68.0
# name:version:npm package whose plugin version it must equal
PROVIDERS="openstack:3.15.2:@pulumi/openstack random:4.21.2:@pulumi/random tls:5.6.1:@pulumi/tls"

started=$(date +%s)
say() { echo "[pulumi-toolchain $(($(date +%s) - started))s] $*" >&2; }
die() {
    echo "[pulumi-toolchain] ERROR: $*" >&2
    exit 1
}

# Every module version this toolchain pins, then the upstream modules it would rather use but
# the proxy does not serve (printed for the record; they do not fail the probe).
PINNED="github.com/pulumi/pulumi/pkg/v3@v3.248.0
github.com/pulumi/pulumi/sdk/v3@v3.248.0
github.com/pulumi/pulumi/sdk/v3@v3.68.0
github.com/pulumi/pulumi-terraform-bridge/v3@v3.120.0
github.com/pulumi/terraform-plugin-sdk/v2@v2.0.0-20260318212141-5525259d096b
github.com/terraform-provider-openstack/terraform-provider-openstack@v1.54.1
github.com/terraform-providers/terraform-provider-random@v1.3.2-0.20260824155315-e1092b0cfc07
github.com/hashicorp/terraform-provider-tls@v1.2.1-0.20260819085117-d044ca7c6f52"
UNSERVED="github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@v3.0.0-20260624180030-dc7edd58bc13
github.com/pulumi/pulumi-openstack/provider/v3@v3.0.0-20240329191609-a9de4228c2fb
github.com/pulumi/pulumi-random/provider/v4@v4.0.0-20260722185042-f2d8b029d0f7
github.com/pulumi/pulumi-tls/provider/v5@v5.0.0-20260722185624-c3b9a61e7075
github.com/pulumi/pulumi-command/provider@v0.0.0-20260303235922-7f3eb6f3b77c"

probe() {
    local m missing=0 scratch
    scratch="$(mktemp -d)"
    while read -r m; do
        if (cd "${scratch}" && GOFLAGS=-mod=mod GONOSUMDB='*' go mod download -json "${m}" >/dev/null 2>&1); then
            echo "OK ${m}" >&2
        else
            echo "NO ${m}" >&2
            missing=1
        fi
    done <<<"${PINNED}"
    while read -r m; do
        if (cd "${scratch}" && GOFLAGS=-mod=mod GONOSUMDB='*' go mod download -json "${m}" >/dev/null 2>&1); then
            echo "served now (README says it is not; consider using it): ${m}" >&2
        else
            echo "NO ${m} (known: not served; see README.md)" >&2
        fi
    done <<<"${UNSERVED}"
    rm -rf "${scratch}"
    return "${missing}"
}

if [ "${1:-}" = --probe ]; then
    probe
    exit $?
fi

command -v go >/dev/null || die "Go is not installed (the machine provides Go 1.26)"
sdk_package="${root}/node_modules/@pulumi/pulumi/package.json"
[ -f "${sdk_package}" ] || die "run npm ci first: ${sdk_package} is missing"
sdk_version="$(node -p "require('${sdk_package}').version")"
[ "v${sdk_version}" = "${CLI_VERSION}" ] ||
    die "@pulumi/pulumi is ${sdk_version} but this toolchain builds the CLI at ${CLI_VERSION}; update CLI_VERSION and cli/go.mod together"
for spec in ${PROVIDERS}; do
    IFS=: read -r name version npm_package <<<"${spec}"
    wanted="$(node -p "const p=require('${root}/node_modules/${npm_package}/package.json'); (p.pulumi && p.pulumi.version) || p.version.replace(/^v/, '')")"
    [ "${wanted}" = "${version}" ] ||
        die "${npm_package} asks for plugin ${name} ${wanted}, but this toolchain builds ${version}; update PROVIDERS here and the version constant in providers/${name}.go"
    grep -q "Version = \"${version}\"" "${here}/providers/${name}.go" ||
        die "providers/${name}.go does not declare version ${version}"
done

key="$(
    {
        go version
        echo "${sdk_version}"
        cat "${BASH_SOURCE[0]}"
        find "${here}/cli" "${here}/langhost" "${here}/providers" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 |
            sort -z | xargs -0 sha256sum | sed "s#${here}/##"
        sha256sum "${root}/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" | cut -d' ' -f1
    } | sha256sum | cut -c1-16
)"
dir="${cache_root}/pulumi-toolchain/${key}"
if [ -f "${dir}/.complete" ]; then
    echo "${dir}"
    exit 0
fi

mkdir -p "${cache_root}/pulumi-toolchain"
exec 9>"${cache_root}/pulumi-toolchain/.lock"
flock 9
if [ -f "${dir}/.complete" ]; then # built by a concurrent run while we waited
    echo "${dir}"
    exit 0
fi
say "building into ${dir} (Go module cache: $(go env GOMODCACHE); build cache: $(go env GOCACHE))"
if ! probe; then
    die "a pinned module is not served by the Go module proxy ($(go env GOPROXY)); see the NO lines above"
fi
rm -rf "${dir}"
mkdir -p "${dir}/bin" "${dir}/providers" "${dir}/home"
tmp="${dir}.partial"
rm -rf "${tmp}"
mkdir -p "${tmp}"

build() { # module-dir output package ldflags
    local t0=$SECONDS
    (cd "${here}/$1" && go build -trimpath -ldflags "$4" -o "$2" "$3") >&2 ||
        die "go build of $3 failed (module ${here}/$1)"
    say "built $(basename "$2") in $((SECONDS - t0))s"
}
version_flag=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
build cli "${tmp}/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "-X ${version_flag}=${CLI_VERSION}"
build langhost "${tmp}/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs \
    "-X ${version_flag}=${LANGHOST_VERSION}"
build providers "${tmp}/providers" . ""

mv "${tmp}/pulumi" "${tmp}/pulumi-language-nodejs" "${dir}/bin/"
# The dynamic-provider host (a shell script that starts @pulumi/pulumi's provider in the
# program's directory) ships with the SDK; the CLI looks for it beside itself.
install -m 0755 "${root}/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "${dir}/bin/"
for spec in ${PROVIDERS}; do
    IFS=: read -r name version _ <<<"${spec}"
    # One executable serves all three, chosen by its file name.
    install -m 0755 "${tmp}/providers" "${dir}/providers/pulumi-resource-${name}"
    PULUMI_HOME="${dir}/home" "${dir}/bin/pulumi" plugin install resource "${name}" "${version}" \
        --file "${dir}/providers/pulumi-resource-${name}" >&2 ||
        die "pulumi plugin install ${name} ${version} failed"
done
rm -rf "${tmp}" "${dir}/providers"
{
    "${dir}/bin/pulumi" version
    PULUMI_HOME="${dir}/home" "${dir}/bin/pulumi" plugin ls
    go version
} >"${dir}/versions.txt" 2>&1
touch "${dir}/.complete"
# Older toolchains (another key) are removed; they are rebuilt from Go's caches if needed.
find "${cache_root}/pulumi-toolchain" -mindepth 1 -maxdepth 1 -type d ! -name "${key}" -exec rm -rf {} +
say "done: $(du -sh "${dir}" | cut -f1) in ${dir}"
echo "${dir}"
