#!/usr/bin/env bash
# Deploys (or updates) a Dynamic Cluster stack from a workstation: `bash scripts/deploy.sh [stack]`.
# - installs the npm dependencies;
# - uses the Pulumi backend you are logged in to, or Pulumi's local file backend (~/.pulumi)
#   when you are not logged in anywhere (log in to Pulumi Cloud first to use it instead);
# - creates the stack if needed and stops with the exact commands to run when a required setting
#   (keyName, allowedCidr, a network) is missing;
# - runs `pulumi up`.
# Needs the Pulumi CLI (https://www.pulumi.com/docs/install/) and your OpenStack credentials in
# the environment (source your openrc, or set OS_CLOUD for clouds.yaml).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stack="${1:-dev}"

if ! command -v pulumi >/dev/null 2>&1; then
    echo "The Pulumi CLI is not installed: see https://www.pulumi.com/docs/install/" >&2
    exit 1
fi
if [ -z "${OS_AUTH_URL:-}" ] && [ -z "${OS_CLOUD:-}" ]; then
    echo "No OpenStack credentials: source your project's openrc file, or export OS_CLOUD=<cloud in clouds.yaml>." >&2
    exit 1
fi

npm ci --no-fund --no-audit

if ! pulumi whoami >/dev/null 2>&1; then
    echo "Not logged in to a Pulumi backend: using the local file backend (~/.pulumi)." >&2
    echo "To use Pulumi Cloud instead: run 'pulumi login' and run this script again." >&2
    pulumi login --local
    if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
        echo "The local backend encrypts secrets with a passphrase: export PULUMI_CONFIG_PASSPHRASE (or _FILE)." >&2
        exit 1
    fi
fi

pulumi stack select --create "${stack}"

missing=()
pulumi config get keyName >/dev/null 2>&1 || missing+=("pulumi config set keyName <your Nova key pair>")
pulumi config get allowedCidr >/dev/null 2>&1 || missing+=("pulumi config set allowedCidr <your users' network, e.g. 203.0.113.0/24>")
if ! pulumi config get network >/dev/null 2>&1 && ! pulumi config get externalNetwork >/dev/null 2>&1; then
    missing+=("pulumi config set network <existing network>   # or: pulumi config set externalNetwork <external network>")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "Stack ${stack} needs these settings first:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 1
fi

pulumi up
