/**
 * The OpenStack API calls the head-node service may make with its application credential.
 *
 * Keystone enforces these access rules on every request made with the credential's tokens, so a
 * stolen credential can boot, list and delete servers and read flavors, images and limits, and
 * nothing else (no volumes, no networks, no identity calls). Paths are relative to the service's
 * catalog endpoint host, as Keystone matches them; `*` is one path segment.
 */

/** One access rule, in the shape `openstack.identity.ApplicationCredential` takes. */
export interface AccessRule {
    /** Catalog service type. */
    service: string;
    /** HTTP method. */
    method: "GET" | "POST" | "PUT" | "DELETE";
    /** Path template. */
    path: string;
}

/** Every call the Dynamic Cluster service makes. */
export const SERVICE_ACCESS_RULES: readonly AccessRule[] = [
    { service: "compute", method: "POST", path: "/v2.1/servers" },
    { service: "compute", method: "GET", path: "/v2.1/servers/detail" },
    { service: "compute", method: "GET", path: "/v2.1/servers/*" },
    { service: "compute", method: "DELETE", path: "/v2.1/servers/*" },
    { service: "compute", method: "GET", path: "/v2.1/flavors/detail" },
    { service: "compute", method: "GET", path: "/v2.1/flavors/*" },
    { service: "compute", method: "GET", path: "/v2.1/limits" },
    { service: "image", method: "GET", path: "/v2/images" },
    { service: "image", method: "GET", path: "/v2/images/*" },
];
