/**
 * How the project's dynamic providers (WorkerPool, BurstSweep) reach Nova: the `openstack:*`
 * settings of the stack, captured in `configure`, else the `OS_*` / clouds.yaml environment of
 * the `pulumi` process, through the one OpenStack client (`lib/openstack`). That includes TLS
 * trust: `openstack:cacertFile` / `openstack:insecure`, else `OS_CACERT` / `OS_INSECURE`, else
 * the cloud's `cacert` / `verify` in clouds.yaml, the order the OpenStack provider uses.
 *
 * Serialized by value into each provider (it imports no npm package at run time).
 */
import type * as pulumi from "@pulumi/pulumi";
import {
    type CloudCredentials,
    ComputeClient,
    resolveCredentials,
    Session,
} from "../lib/openstack";

/**
 * Raw `openstack:*` settings captured in `configure`, in OS_* style (without the prefix). A
 * holder object, not a reassigned variable, so a serialized provider shares one instance.
 */
const providerState: { settings: Record<string, string | undefined> } = { settings: {} };

/** A provider's `configure`: keeps the stack's `openstack:*` settings for {@link novaClient}. */
export async function configureFromStack(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    // The host passes no config when the engine sent none.
    const get = (key: string): string | undefined => req?.config?.get(`openstack:${key}`);
    providerState.settings = {
        AUTH_URL: get("authUrl"),
        USERNAME: get("userName"),
        PASSWORD: get("password"),
        PROJECT_NAME: get("tenantName"),
        PROJECT_ID: get("tenantId"),
        USER_DOMAIN_NAME: get("userDomainName"),
        PROJECT_DOMAIN_NAME: get("projectDomainName"),
        APPLICATION_CREDENTIAL_ID: get("applicationCredentialId"),
        APPLICATION_CREDENTIAL_SECRET: get("applicationCredentialSecret"),
        REGION_NAME: get("region"),
        INTERFACE: get("endpointType"),
        // TLS trust, as the OpenStack provider reads it (else OS_CACERT / clouds.yaml's cacert).
        CACERT: get("cacertFile"),
        INSECURE: get("insecure"),
    };
}

/** A Nova client with the stack's credentials (polling every `pollMs` when waiting). */
export function novaClient(pollMs = 1000): ComputeClient {
    const credentials: CloudCredentials = resolveCredentials(providerState.settings);
    return new ComputeClient(new Session(credentials), pollMs);
}
