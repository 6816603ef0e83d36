/**
 * The one OpenStack client of the project, shared by the WorkerPool dynamic provider and the
 * head-node service: credentials, Keystone session, Nova/Glance calls, errors.
 */
export * from "./compute";
export * from "./credentials";
export * from "./errors";
export * from "./http";
export * from "./session";

import { ComputeClient } from "./compute";
import { type CloudCredentials, resolveCredentials } from "./credentials";
import { Session } from "./session";

/** A compute client for the given credentials (default: resolved from the environment). */
export function computeClient(credentials: CloudCredentials = resolveCredentials()): ComputeClient {
    return new ComputeClient(new Session(credentials));
}
