/**
 * The one OpenStack client of the project, shared by the WorkerPool dynamic provider and the
 * head-node service: credentials, Keystone session, Nova/Glance calls, errors. Only re-exports:
 * each user builds its `ComputeClient` from a `Session` with its own credentials and settings.
 */
export * from "./compute";
export * from "./credentials";
export * from "./errors";
export * from "./http";
export * from "./images";
export * from "./session";
