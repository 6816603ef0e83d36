/**
 * `dynamic-cluster:index:Cluster`: the whole cluster, built from a validated {@link ClusterConfig}.
 *
 * Owns the generated secrets (random/tls resources, so they are stable across runs and stored
 * encrypted), the `/data` volume (protected, outside the head node so it survives a head-node
 * replacement), the head-node service's application credential, and composes {@link Network},
 * {@link HeadNode}, {@link HeadProvisioner}, the sweep of burst workers on destroy
 * ({@link BurstSweep}) and the static floors of workers ({@link WorkerPool}, one per worker
 * pool: the default pool's `workers.min` servers named `<prefix>-st-N`, each further pool's `min`
 * named `<pool>-st-N`, booted once the head node is configured, since they join its Salt master).
 * One resource per pool rather than one for all: a change of one pool's flavor or image shows in
 * `pulumi preview` as that pool's update alone and rolls only its servers, and the default pool
 * keeps the resource (`<name>-workers`) an older stack has, so upgrading replaces nothing. A pool
 * is registered even when its `min` is 0 (it then owns no server), so raising the floor later is
 * an in-place update of the same resource. Worker
 * policy reaches the head node only through the pillar, so changing it re-runs the provisioning
 * step (and resizes the pool) and nothing else.
 */
import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { saltPemFinger } from "../lib/saltKey";
import { encodeUserData, renderUserData } from "../lib/userData";
import { SERVICE_ACCESS_RULES } from "./accessRules";
import { BurstSweep } from "./burstSweep";
import { type ClusterConfig, type WorkerPolicy, workerPools } from "./config";
import { headNodeFiles } from "./headFiles";
import { HeadNode } from "./headNode";
import { Network } from "./network";
import { poolNodePrefix } from "../lib/nodeNames";
import {
    headMinionId,
    type PillarResources,
    type PillarSecrets,
    renderPublicPillarFiles,
    renderSecretPillarFiles,
} from "./pillar";
import { buildServiceBundle } from "./serviceBundle";
import { hashDirectory, HeadProvisioner } from "./provisioner";
import { WorkerPool } from "./workerPool";

/** The project's root directory (holds `cloud-init/` and `salt/`). */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/**
 * Node.js module stream installed on the head node (Rocky/Alma 9 AppStream): `nodejs:24`, the
 * newest LTS line RHEL 9 ships as a module stream (new in RHEL 9.7: "Node.js 24" in
 * https://docs.rockylinux.org/release_notes/9_7/; Red Hat's own UBI 9 image runs
 * `dnf -y module enable nodejs:24`, github.com/sclorg/s2i-nodejs-container 24/Dockerfile.rhel9).
 * Node.js 24 is LTS until 2028-04-30; Node.js 20 reached its end of life in April 2026. The
 * service bundle targets the same version (components/serviceBundle.ts), and
 * test/env/node-lts.sh installs it for test/integration/service-bundle-node-lts.test.ts.
 */
export const HEAD_NODEJS_STREAM = "24";

/** Where the OpenStack API is, as the head-node service must reach it. */
export interface CloudEndpoint {
    /** Keystone URL. */
    authUrl: string;
    /** Region, or "" when the cloud has one. */
    region: string;
    /** PEM of the CA bundle the cloud's certificates are checked against, or "" (system's). */
    caPem?: string;
    /** Certificates are not checked (`verify: false`, OS_INSECURE). */
    insecure?: boolean;
}

/** Arguments of {@link Cluster}. */
export interface ClusterArgs {
    /** Validated configuration. */
    config: ClusterConfig;
    /** Keystone URL and region for the head-node service. */
    cloud: CloudEndpoint;
}

/** Renders the head node's user-data and checks it against Nova's size limit. */
export function renderHeadUserData(config: ClusterConfig, root = PROJECT_ROOT): string {
    const template = readFileSync(path.join(root, "cloud-init", "head.yaml"), "utf8");
    const raw = renderUserData(template, {
        head_name: config.headNode.name,
        nodejs_stream: HEAD_NODEJS_STREAM,
    });
    encodeUserData(raw);
    return raw;
}

/** An elastic HPC cluster: network, head node, data volume, secrets and provisioning. */
export class Cluster extends pulumi.ComponentResource {
    /** Random ID in every worker's `dc-cluster-<id>` tag. */
    readonly clusterId: pulumi.Output<string>;
    /** Address users reach the head node at. */
    readonly headAddress: pulumi.Output<string>;
    /** Head node's address on the cluster network. */
    readonly headClusterAddress: pulumi.Output<string>;
    /** `ssh` command line for the head node. */
    readonly sshCommand: pulumi.Output<string>;
    /** Dashboard URL. */
    readonly dashboardUrl: pulumi.Output<string>;
    /** Dashboard password (secret). */
    readonly dashboardPassword: pulumi.Output<string>;
    /** Salt `master_finger` workers pin. */
    readonly masterFinger: pulumi.Output<string>;
    /** The scheduler in use. */
    readonly scheduler: string;
    /** Worker policy in force. */
    readonly workerPolicy: WorkerPolicy;
    /** The network component (security groups, network ID) for the worker pool. */
    readonly network: Network;
    /** The head node component. */
    readonly headNode: HeadNode;
    /** The provisioning step; worker pools depend on it (the master must be up). */
    readonly provisioner: HeadProvisioner;
    /** The default pool's static floor of workers (`workers.min`; none when it is 0). */
    readonly staticWorkers: WorkerPool;

    /**
     * @param name The _unique_ name of this component.
     * @param args The validated configuration and cloud endpoint.
     * @param opts A bag of options that control this component's behavior.
     */
    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("dynamic-cluster:index:Cluster", name, {}, opts);
        const { config } = args;
        const parent = { parent: this };

        const clusterId = new random.RandomString(
            `${name}-id`,
            { length: 8, lower: true, upper: false, numeric: true, special: false },
            parent,
        );
        this.clusterId = clusterId.result;

        this.network = new Network(
            `${name}-network`,
            {
                plan: config.network,
                clusterName: config.clusterName,
                scheduler: config.scheduler,
                allowedCidrs: config.allowedCidrs,
            },
            parent,
        );

        // The /data volume: created here, or an existing one the user names (e.g. the volume a
        // destroyed stack left). With data.protect (the default) Pulumi never deletes it: a
        // `pulumi destroy` (or a replacement, e.g. after a data.volumeType change) leaves it in
        // Cinder, detached, for `data.volumeId` or `openstack volume delete` (README).
        const dataVolumeId: pulumi.Output<string> = config.data.volumeId
            ? pulumi.output(config.data.volumeId)
            : new openstack.blockstorage.Volume(
                  `${name}-data`,
                  {
                      name: `${config.clusterName}-data`,
                      description: `Dynamic Cluster ${config.clusterName}: /data`,
                      size: config.data.size,
                      volumeType: config.data.volumeType,
                  },
                  { parent: this, retainOnDelete: config.data.protect },
              ).id;

        // Burst workers (started by the head node's service) are deleted with the stack: after
        // the head server, before the network their ports are on (components/burstSweep.ts).
        const burstSweep = new BurstSweep(
            `${name}-burst-sweep`,
            { clusterId: this.clusterId },
            { parent: this, dependsOn: [this.network] },
        );

        this.headNode = new HeadNode(
            `${name}-head`,
            {
                serverDependsOn: [burstSweep],
                headNode: config.headNode,
                keyName: config.keyName,
                network: this.network,
                userData: renderHeadUserData(config),
                dataVolumeId: dataVolumeId,
                clusterId: this.clusterId,
            },
            parent,
        );
        this.headAddress = this.headNode.publicAddress;
        this.headClusterAddress = this.headNode.clusterAddress;

        // Generated secrets: stable across runs, encrypted in state.
        const saltMasterKey = new tls.PrivateKey(
            `${name}-salt-master-key`,
            { algorithm: "RSA", rsaBits: 4096 },
            parent,
        );
        this.masterFinger = saltMasterKey.publicKeyPem.apply(saltPemFinger);
        const tlsKey = new tls.PrivateKey(
            `${name}-tls-key`,
            { algorithm: "ECDSA", ecdsaCurve: "P256" },
            parent,
        );
        const tlsCertificate = new tls.SelfSignedCert(
            `${name}-tls-certificate`,
            {
                privateKeyPem: tlsKey.privateKeyPem,
                subject: { commonName: config.headNode.name, organization: "Dynamic Cluster" },
                dnsNames: [config.headNode.name],
                ipAddresses: [this.headNode.publicAddress],
                validityPeriodHours: 5 * 365 * 24,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            },
            parent,
        );
        this.dashboardPassword =
            config.dashboardPassword ??
            new random.RandomPassword(
                `${name}-dashboard-password`,
                { length: 24, special: false },
                parent,
            ).result;
        // The local API's tokens, one per caller (each opens only its caller's routes).
        const localApiToken = (caller: "slurm" | "salt" | "admin") =>
            new random.RandomPassword(
                `${name}-${caller}-token`,
                { length: 48, special: false },
                parent,
            ).result;
        const localApiTokens = pulumi
            .all([localApiToken("slurm"), localApiToken("salt"), localApiToken("admin")])
            .apply(([slurm, salt, admin]) => ({ slurm, salt, admin }));
        const mungeKey = new random.RandomBytes(`${name}-munge-key`, { length: 128 }, parent);
        const credential = new openstack.identity.ApplicationCredential(
            `${name}-service-credential`,
            {
                name: pulumi.interpolate`${config.clusterName}-dynamic-cluster-${this.clusterId}`,
                description: `Dynamic Cluster ${config.clusterName}: head-node service (compute only)`,
                unrestricted: false,
                accessRules: SERVICE_ACCESS_RULES.map((rule) => ({ ...rule })),
            },
            parent,
        );

        // Slurm's node definitions need the worker flavor's size.
        // The head-node service, built now; its hash reaches the pillar so a new bundle restarts it.
        const serviceBundleDir = buildServiceBundle();
        const serviceBundle = hashDirectory(serviceBundleDir).slice(0, 16);
        const pools = workerPools(config);
        const flavorNames = [
            ...new Set(pools.flatMap((pool) => [pool.flavor, ...pool.fallbackFlavors])),
        ];
        const flavorSizes = pulumi.all(
            flavorNames.map((flavorName) =>
                openstack.compute
                    .getFlavorOutput({ name: flavorName }, { parent: this })
                    .apply((flavor) => {
                        if (!flavor.vcpus || !flavor.ram) {
                            throw new Error(
                                `Worker flavor "${flavorName}" reports no vCPUs or RAM; ` +
                                    "choose another for the pools that name it (`pulumi config set --path workers.flavor <name>`, or the pool's flavor or fallbackFlavors).",
                            );
                        }
                        return [flavorName, { vcpus: flavor.vcpus, ramMb: flavor.ram }] as const;
                    }),
            ),
        );
        const resources: pulumi.Output<PillarResources> = pulumi
            .all([
                this.clusterId,
                this.headNode.clusterAddress,
                this.headNode.publicAddress,
                this.network.subnetCidr,
                this.network.networkId,
                this.network.workerSecurityGroup.id,
                dataVolumeId,
                this.masterFinger,
            ])
            .apply(
                ([
                    id,
                    headAddress,
                    headPublicAddress,
                    clusterCidr,
                    networkId,
                    workerSg,
                    volumeId,
                    finger,
                ]) => ({
                    clusterId: id,
                    headAddress,
                    headPublicAddress,
                    clusterCidr,
                    networkId,
                    workerSecurityGroup: workerSg,
                    dataVolumeId: volumeId,
                    masterFinger: finger,
                    authUrl: config.serviceCloud.authUrl ?? args.cloud.authUrl,
                    region: args.cloud.region,
                    openstackCaPem: args.cloud.caPem ?? "",
                    openstackInsecure: args.cloud.insecure ?? false,
                    serviceBundle,
                }),
            )
            .apply((res) =>
                flavorSizes.apply((sizes) => {
                    const byName = Object.fromEntries(sizes);
                    return {
                        ...res,
                        workerFlavor: byName[config.workers.flavor]!,
                        flavorSizes: byName,
                    };
                }),
            );
        const publicPillar = resources.apply((res) => renderPublicPillarFiles(config, res));
        const secrets: pulumi.Output<PillarSecrets> = pulumi
            .all([
                credential.id,
                credential.secret,
                this.dashboardPassword,
                localApiTokens,
                tlsKey.privateKeyPem,
                tlsCertificate.certPem,
                mungeKey.base64,
            ])
            .apply(([credentialId, credentialSecret, dashboard, tokens, key, cert, munge]) => ({
                applicationCredentialId: credentialId,
                applicationCredentialSecret: credentialSecret,
                dashboardPassword: dashboard,
                localApiTokens: tokens,
                tlsPrivateKey: key,
                tlsCertificate: cert,
                mungeKey: munge,
            }));
        const secretPillar = pulumi.secret(secrets.apply(renderSecretPillarFiles));

        const files = headNodeFiles({
            publicPillar,
            secretPillar,
            masterPrivateKeyPem: saltMasterKey.privateKeyPem,
            masterPublicKeyPem: saltMasterKey.publicKeyPem,
        });

        this.provisioner = new HeadProvisioner(
            `${name}-provisioner`,
            {
                host: this.headNode.publicAddress,
                user: config.sshUser,
                privateKey: config.sshPrivateKey,
                instanceId: this.headNode.instance.id,
                provisionAfter: this.headNode.provisionAfter,
                saltTreeDir: path.join(PROJECT_ROOT, "salt"),
                serviceBundleDir,
                files,
                headMinionId: headMinionId(config),
                hostKeyCheck: config.sshHostKeyCheck,
                secretValues: pulumi.secret(
                    secrets.apply((all) =>
                        Object.values(all).flatMap((value) =>
                            typeof value === "string" ? [value] : Object.values(value),
                        ),
                    ),
                ),
            },
            { parent: this.headNode },
        );

        const userDataTemplate = readFileSync(
            path.join(PROJECT_ROOT, "cloud-init", "worker.yaml"),
            "utf8",
        );
        // One WorkerPool per pool, each owning its floor's names only (`<pool>-st-N`); the default
        // pool keeps the resource name it always had, so an older stack's floor is not replaced.
        const floors = pools.map(
            (pool, i) =>
                new WorkerPool(
                    i === 0 ? `${name}-workers` : `${name}-workers-${pool.name}`,
                    {
                        count: pool.min,
                        flavor: pool.flavor,
                        image: pool.image,
                        network: this.network.networkId,
                        keyName: config.keyName,
                        securityGroups: [this.network.workerSecurityGroup.id],
                        availabilityZone: pool.availabilityZone ?? "",
                        namePrefix: poolNodePrefix(pool.name, "static"),
                        clusterId: this.clusterId,
                        masterAddress: this.headNode.clusterAddress,
                        masterFinger: this.masterFinger,
                        userDataTemplate,
                        bootTimeoutSeconds: config.workers.launchTimeout,
                        drainTimeoutSeconds: config.workers.drainTimeout,
                    },
                    // The workers' minions need the configured master (and its reactors) to join.
                    { parent: this, dependsOn: [this.provisioner] },
                ),
        );
        this.staticWorkers = floors[0]!;

        this.scheduler = config.scheduler;
        this.workerPolicy = config.workers;
        this.sshCommand = pulumi.interpolate`ssh ${config.sshUser}@${this.headNode.publicAddress}`;
        this.dashboardUrl = pulumi.interpolate`https://${this.headNode.publicAddress}/dashboard/`;

        this.registerOutputs({
            clusterId: this.clusterId,
            headAddress: this.headAddress,
            dashboardUrl: this.dashboardUrl,
            dashboardPassword: this.dashboardPassword,
        });
    }
}
