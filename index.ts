/**
 * The Pulumi program: load and validate the configuration, build the cluster, export outputs.
 * Everything else lives in `components/`; see README.md for the configuration reference.
 */
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./components/cluster";
import { loadClusterConfig } from "./components/config";
import { resolveCloudEndpoint } from "./components/cloudEndpoint";

const config = loadClusterConfig();
const cluster = new Cluster("dc", { config, cloud: resolveCloudEndpoint() });

/** Address users reach the head node at. */
export const headAddress = cluster.headAddress;
/** Head node's address on the cluster network. */
export const headClusterAddress = cluster.headClusterAddress;
/** SSH command line for the head node. */
export const ssh = cluster.sshCommand;
/** Dashboard URL (the certificate is self-signed; its fingerprint is in the Salt run's output). */
export const dashboardUrl = cluster.dashboardUrl;
/** Dashboard login name. */
export const dashboardUser = config.dashboard.username;
/** Dashboard password; show it with `pulumi stack output dashboardPassword --show-secrets`. */
export const dashboardPassword = pulumi.secret(cluster.dashboardPassword);
/** Batch scheduler. */
export const scheduler = cluster.scheduler;
/** Worker policy in force. */
export const workerPolicy = cluster.workerPolicy;
/** Cluster ID in every worker's `dc-cluster-<id>` tag. */
export const clusterId = cluster.clusterId;
