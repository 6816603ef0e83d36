#!/usr/bin/env bash
# Deploys (or updates) a Dynamic Cluster stack from a workstation: `bash scripts/deploy.sh [stack]`.
# - installs the npm dependencies;
# - uses the Pulumi backend you are logged in to, or Pulumi's local file backend (~/.pulumi)
#   when you are not logged in anywhere (log in to Pulumi Cloud first to use it instead);
# - creates the stack if needed and stops with the exact commands to run when a required setting
#   (keyName, allowedCidr, a network) is missing (checked with the real CLI 3.248);
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

# The CLI refuses every config command while a required key (keyName, allowedCidr) is unset,
# naming the missing ones; the other keys have defaults in Pulumi.yaml ("" when unset).
if ! problem=$(pulumi config --json 2>&1 >/dev/null); then
    echo "${problem}" >&2
    echo "Set them first, for example:" >&2
    echo "  pulumi config set keyName <your Nova key pair>" >&2
    echo "  pulumi config set allowedCidr <your users' network, e.g. 203.0.113.0/24>" >&2
    echo "  pulumi config set network <existing network>   # or: pulumi config set externalNetwork <external network>" >&2
    exit 1
fi
if [ -z "$(pulumi config get network)" ] && [ -z "$(pulumi config get externalNetwork)" ]; then
    echo "Stack ${stack} needs a network first:" >&2
    echo "  pulumi config set network <existing network>   # or: pulumi config set externalNetwork <external network>" >&2
    exit 1
fi

pulumi up
