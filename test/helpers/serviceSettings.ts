/**
 * Settings of a small Slurm cluster for unit tests that build the real service core
 * (autoscaler/service.ts) with stand-in dependencies: validated by the service's own parser.
 */
import { parseSettings, type ServiceSettings } from "../../autoscaler/settings";

/** What the tests vary. */
export interface UnitSettingsOptions {
    /** The service's state directory. */
    stateDir: string;
    /** Burst nodes (`workers.max - workers.min`); default 2. */
    burst?: number;
    /** Static floor (`workers.min`, nodes `compute-st-1..floor`); default 0. */
    floor?: number;
    /** The Salt master's key directory; default Salt's own. */
    pkiDir?: string;
    /** Worker image; default `debian-12`. */
    image?: string;
    /** Tuning overrides. */
    tuning?: Record<string, number>;
    /** Pools beside the default one (settings `extra_pools`). */
    extraPools?: Record<string, unknown>[];
}

/**
 * Parsed settings: cluster `dev`, floor nodes `compute-st-1..floor`, burst nodes
 * `compute-dy-1..burst`, firewall off.
 */
export function unitSettings(options: UnitSettingsOptions): ServiceSettings {
    const burst = options.burst ?? 2;
    const floor = options.floor ?? 0;
    return parseSettings({
        cluster: { name: "dev", id: "0123456789abcdef" },
        scheduler: "slurm",
        head: { name: "head", minion_id: "head", address: "10.0.0.2" },
        network: { network_id: "net", worker_security_group: "sg" },
        workers: {
            min: floor,
            max: floor + burst,
            flavor: "m1.small",
            image: options.image ?? "debian-12",
            idle_timeout: 300,
            launch_timeout: 1200,
            static_prefix: "compute-st",
            burst_prefix: "compute-dy",
        },
        salt: {
            master_finger: Array.from({ length: 32 }, () => "ab").join(":"),
            ...(options.pkiDir ? { pki_dir: options.pkiDir } : {}),
        },
        listen: {
            local_api: { host: "127.0.0.1", port: 8081 },
            http: { host: "0.0.0.0", port: 8080 },
        },
        graphite: { host: "127.0.0.1", port: 2003 },
        dashboard: { username: "admin" },
        openstack: { auth_url: "http://keystone.example:5000/v3" },
        secrets: {
            openstack_application_credential: { id: "id", secret: "secret" },
            dashboard_password: "a-long-password",
            local_api_token_sha256: {
                slurm: "1".repeat(64),
                salt: "2".repeat(64),
                admin: "3".repeat(64),
            },
        },
        layout: {
            state_dir: options.stateDir,
            firewall: { worker_set: "dc-workers", enabled: false },
        },
        ...(options.tuning ? { tuning: options.tuning } : {}),
        ...(options.extraPools ? { extra_pools: options.extraPools } : {}),
    });
}
