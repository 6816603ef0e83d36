/**
 * The OpenStack API calls the head-node service may make with its application credential.
 *
 * Keystone stores these access rules with the credential, and each service's keystonemiddleware
 * checks every request made with its tokens against them, so a stolen credential can boot, list
 * and delete servers, list flavors and look images up by name, and nothing else (no limits,
 * keypairs, volumes, networks or identity calls). The rules are derived from the calls the
 * service's client makes ({@link SERVICE_API_CALLS}, `lib/openstack/compute.ts`), for both shapes
 * a compute endpoint takes in catalogs: `.../v2.1` and the legacy `.../v2.1/<project ID>`.
 * Keystone matches rule paths against the request path; `*` is exactly one path segment, so
 * `/v2.1/*\/servers` admits the project segment and nothing under another top-level resource.
 *
 * What the rules cannot narrow: `DELETE /servers/*` admits any server of the project, the head
 * node included. An access rule names a service type, a method and a path, nothing about the
 * resource (no tag or metadata condition exists in Keystone's rules or Nova's policy for a
 * project member), so the narrowing is the service's own: every delete reads the server again
 * and refuses any that is not a worker the service owns (autoscaler/cloud.ts, lib/tags.ts
 * `workerIdentity`), and the listing it decides on holds workers only.
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

/**
 * Every call the service's client makes, relative to its API's root (`*`: an ID). Keep in step
 * with `lib/openstack/compute.ts`; the access-rules integration test makes each call with a
 * credential restricted to {@link SERVICE_ACCESS_RULES} and fails on any refused one.
 */
export const SERVICE_API_CALLS: readonly AccessRule[] = [
    { service: "compute", method: "POST", path: "/servers" }, // createServer
    { service: "compute", method: "GET", path: "/servers/detail" }, // listServersByTags
    { service: "compute", method: "GET", path: "/servers/*" }, // getServer
    { service: "compute", method: "DELETE", path: "/servers/*" }, // deleteServer
    { service: "compute", method: "GET", path: "/flavors/detail" }, // flavorId
    { service: "image", method: "GET", path: "/v2/images" }, // imageId (by name)
];

/** The path prefixes a request to each service may carry before the call's own path. */
const API_ROOTS: Readonly<Record<string, readonly string[]>> = {
    compute: ["/v2.1", "/v2.1/*"],
    image: [""],
};

/** The access rules of the service's application credential. */
export const SERVICE_ACCESS_RULES: readonly AccessRule[] = SERVICE_API_CALLS.flatMap((call) =>
    (API_ROOTS[call.service] ?? [""]).map((root) => ({ ...call, path: `${root}${call.path}` })),
);
