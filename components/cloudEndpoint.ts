/**
 * Where the head-node service finds the OpenStack API: the same Keystone URL and region the
 * program itself uses, from `pulumi config` (`openstack:authUrl`, `openstack:region`), else the
 * standard `OS_AUTH_URL` / `OS_REGION_NAME` environment.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CloudEndpoint } from "./cluster";

/** Resolves the cloud endpoint, failing with a fix when none is configured. */
export function resolveCloudEndpoint(env: NodeJS.ProcessEnv = process.env): CloudEndpoint {
    const openstackConfig = new pulumi.Config("openstack");
    const authUrl = openstackConfig.get("authUrl") ?? env["OS_AUTH_URL"];
    if (!authUrl) {
        throw new Error(
            "No OpenStack endpoint: source your project's openrc file (it sets OS_AUTH_URL), or run " +
                "`pulumi config set openstack:authUrl https://keystone.example.org:5000/v3`.",
        );
    }
    return { authUrl, region: openstackConfig.get("region") ?? env["OS_REGION_NAME"] ?? "" };
}
