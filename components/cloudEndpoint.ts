/**
 * Where the head-node service finds the OpenStack API, and which CA it trusts there: the same
 * Keystone URL and region the program itself uses, from `pulumi config` (`openstack:authUrl`,
 * `openstack:region`), else the standard `OS_AUTH_URL` / `OS_REGION_NAME` environment, else the
 * `OS_CLOUD` cloud's `auth.auth_url` / `region_name` in clouds.yaml; and the TLS trust of
 * `lib/openstack` (`openstack:cacertFile` / `openstack:insecure`, else `OS_CACERT` /
 * `OS_INSECURE`, else the cloud's `cacert` / `verify` in clouds.yaml). The CA's PEM text goes to
 * the head node in the pillar, so the service trusts the same CA as the workstation.
 *
 * The program's own OpenStack resources use Pulumi's default `openstack` provider, which reads
 * exactly these settings in this order itself (terraform-provider-openstack 1.54: `cacert_file`
 * and `insecure` with their `OS_CACERT` / `OS_INSECURE` defaults, then clouds.yaml's `cacert` /
 * `verify` through gophercloud/utils when `cloud`/`OS_CLOUD` is set). So no explicit provider is
 * created to pass them on: that would move every resource of existing stacks to a new provider.
 * What resolving them here adds is an early, clear error for a missing or non-PEM bundle.
 */
import { existsSync, readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import {
    type CloudTls,
    cloudsYamlPaths,
    OpenStackConfigError,
    resolveTls,
    settingsFromCloudsYaml,
} from "../lib/openstack";
import type { CloudEndpoint } from "./cluster";

/**
 * Resolves the cloud endpoint and its TLS trust, failing with a fix when none is configured or
 * the CA bundle is bad; warns when certificate checks are off.
 */
export function resolveCloudEndpoint(
    env: NodeJS.ProcessEnv = process.env,
    paths: string[] = cloudsYamlPaths(),
): CloudEndpoint {
    const openstackConfig = new pulumi.Config("openstack");
    let authUrl = openstackConfig.get("authUrl") ?? env["OS_AUTH_URL"];
    let region = openstackConfig.get("region") ?? env["OS_REGION_NAME"];
    const cloud = env["OS_CLOUD"];
    const file = cloud ? paths.find((p) => existsSync(p)) : undefined;
    if (cloud && file && (!authUrl || region === undefined)) {
        const fromYaml = settingsFromCloudsYaml(readFileSync(file, "utf8"), cloud, file);
        authUrl ??= fromYaml["AUTH_URL"];
        region ??= fromYaml["REGION_NAME"];
    }
    if (!authUrl) {
        throw new Error(
            "No OpenStack endpoint: source your project's openrc file (it sets OS_AUTH_URL), or run " +
                "`pulumi config set openstack:authUrl https://keystone.example.org:5000/v3`.",
        );
    }
    let tls: CloudTls;
    try {
        tls = resolveTls(
            {
                CACERT: openstackConfig.get("cacertFile"),
                INSECURE: openstackConfig.get("insecure"),
            },
            env,
            paths,
        );
    } catch (err) {
        // The message names the file and the setting; no stack trace is needed.
        if (err instanceof OpenStackConfigError) throw new Error(err.message);
        throw err;
    }
    if (tls.insecure) {
        pulumi.log.warn(
            `TLS certificates of the OpenStack APIs are not checked (${tls.insecureSource}): ` +
                "anyone on the path can read the credentials. The head-node service is set up " +
                "the same way. Prefer `cacert` in clouds.yaml or OS_CACERT with the cloud's CA.",
        );
    }
    return { authUrl, region: region ?? "", caPem: tls.caPem ?? "", insecure: tls.insecure };
}
