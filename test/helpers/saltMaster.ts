/**
 * The service tests' real Salt master (test/env/salt/master-up.sh runs it): the pinned PyPI Salt,
 * as user `salt`, with what a head node's states put in place, taken from the head's rendered
 * highstate rather than written again here:
 * - the master config the states generate (`/etc/salt/master.d/dynamic-cluster.conf`), verbatim:
 *   interface 192.0.2.1, no auto-accept, auth events, the reactor map, `runner_dirs`;
 * - the cluster's master key pair, the reactors' token header file in `/etc/dynamic-cluster`
 *   and the pillar files in `/srv/pillar`, each with the owner, group and mode of the state that
 *   manages it (and the directories' too);
 * - `/srv/salt`: the project's Salt tree, with one replacement: the top file gives workers the
 *   stand-in `dc_test.worker` instead of `dynamic_cluster.worker`, whose packages (dnf) and
 *   units (systemd) cannot apply on this Debian machine. The stand-in includes the real stats
 *   collector (`dynamic_cluster.worker.stats`), starts the host's real slurmd as the worker's
 *   slurm states would, and sends the real ready/failed events; per node it can fail a state or
 *   fail to render (`behaviour.yaml`), which is how the tests make a highstate fail.
 * The reactors, the forwarding runner, the custom modules and the pillar are the real ones.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import * as yaml from "js-yaml";
import type { Highstate } from "./salt";
import { SALT_TREE } from "./salt";
import { saltVenv } from "./saltCall";
import { HEAD_NETNS } from "./slurmCluster";

const exec = promisify(execFile);
const SCRIPTS = path.resolve(__dirname, "../env/salt");

/** What a worker's stand-in highstate does. */
export type WorkerBehaviour = "ok" | "fail" | "render-error";

/** The head node address the generated master config listens on (test/env/slurm/lib.sh). */
export const MASTER_ADDRESS = "192.0.2.1";

/** Owner, group and mode a state sets for `file`, from the head's rendered highstate. */
function managedBy(head: Highstate, file: string): { user: string; group: string; mode: number } {
    for (const state of Object.values(head.states)) {
        if (state.module !== "file" || state.args["name"] !== file) continue;
        const { user, group, mode } = state.args as {
            user?: string;
            group?: string;
            mode?: string;
        };
        if (!user || !group || !mode) continue;
        return { user, group, mode: parseInt(String(mode), 8) };
    }
    throw new Error(`no state of the head's highstate sets the owner and mode of ${file}`);
}

function idOf(kind: "passwd" | "group", name: string): number {
    const entry = execFileSync("getent", [kind, name], { encoding: "utf8" });
    return Number(entry.split(":")[2]);
}

/** Writes `content` to `file` (under a layer) with the owner and mode `head`'s states set. */
function place(head: Highstate, layerRoot: string, file: string, content?: string | Buffer): void {
    const target = path.join(layerRoot, file);
    const { user, group, mode } = managedBy(head, file);
    if (content === undefined) fs.mkdirSync(target, { recursive: true });
    else {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content);
    }
    fs.chownSync(target, idOf("passwd", user), idOf("group", group));
    fs.chmodSync(target, mode);
}

/** The test-only parts of the master's Salt tree (see the module header). */
const TEST_TOP = `# Test-only top file (test/helpers/saltMaster.ts): workers get the stand-in dc_test.worker
# instead of dynamic_cluster.worker, whose packages and units cannot apply on this Debian machine.
base:
  'dynamic_cluster:role:worker':
    - match: grain
    - dc_test.worker
`;

const TEST_WORKER_SLS = `{#- Stand-in for dynamic_cluster.worker in the service tests (test/helpers/saltMaster.ts).
    Real: the stats collector and its schedule, and the ready/failed events. Stand-in: the
    scheduler's execution daemon is the host's real slurmd started here, configless from the
    controller, as worker/slurm.sls enables slurmd on a Rocky worker. behaviour.yaml can make a
    node's highstate fail (a failing state) or not render at all. #}
{%- import_yaml 'dc_test/behaviour.yaml' as behaviour %}
{%- set node = salt['grains.get']('dynamic_cluster:node_name') %}
{%- set mode = (behaviour or {}).get(node, 'ok') %}
{%- if mode == 'render-error' %}
{{ this_worker_cannot_be_rendered.on_purpose }}
{%- endif %}
include:
  - dynamic_cluster.worker.stats

dc-test-worker-slurmd:
  cmd.run:
{%- if mode == 'fail' %}
    - name: 'echo "slurmd: fatal: the test made this worker fail" >&2; exit 1'
{%- else %}
    - name: env -u SLURM_CONF slurmd --conf-server ${MASTER_ADDRESS}:6817 -N {{ node }} -b
{%- endif %}

dc-test-worker-ready:
  event.send:
    - name: dynamic-cluster/worker/ready
    - data:
        node_name: {{ node | json }}
    - require:
      - cmd: dc-test-worker-slurmd
      - sls: dynamic_cluster.worker.stats

dc-test-worker-failed:
  event.send:
    - name: dynamic-cluster/worker/failed
    - data:
        node_name: {{ node | json }}
    - onfail_any:
      - cmd: dc-test-worker-slurmd
`;

/** Options of {@link SaltMaster.start}. */
export interface SaltMasterOptions {
    /** Work directory (created); it becomes the master's root_dir. */
    dir: string;
    /** The head node's rendered highstate. */
    head: Highstate;
    /** The cluster's master key pair (PEM), whose fingerprint the workers pin. */
    masterKey: { privatePem: string; publicPem: string };
    /** The pillar files the program generates (top.sls and the files it names). */
    pillar: Record<string, string>;
    /** Port of the service's local API in the machine's namespace. */
    servicePort: number;
    /** Per-node behaviour of the stand-in highstate. */
    behaviour: Record<string, WorkerBehaviour>;
}

/** A running master. */
export class SaltMaster {
    private constructor(
        readonly dir: string,
        private readonly venv: string,
    ) {}

    /** Where minions reach the master (the generated config's interface). */
    get address(): string {
        return MASTER_ADDRESS;
    }

    /** The master's configuration directory (`-c`). */
    get configDir(): string {
        return path.join(this.dir, "etc", "salt");
    }

    /** The master's key directory (accepted, pending, rejected, denied keys). */
    get pkiDir(): string {
        return path.join(this.configDir, "pki", "master");
    }

    /** Its `salt-run`. */
    get saltRun(): string {
        return path.join(this.venv, "bin", "salt-run");
    }

    /** Writes the master's configuration and starts it (with the reactors' forwarder). */
    static async start(options: SaltMasterOptions): Promise<SaltMaster> {
        const { dir, head } = options;
        const venv = saltVenv();
        const configDir = path.join(dir, "etc", "salt");
        fs.mkdirSync(path.join(configDir, "master.d"), { recursive: true });
        // What Salt's packages put in /etc/salt/master (user salt), rooted in the test's directory.
        fs.writeFileSync(
            path.join(configDir, "master"),
            [
                "# The test's base master configuration (test/helpers/saltMaster.ts); the cluster's",
                "# own settings are in master.d/dynamic-cluster.conf, as the head's states write them.",
                `root_dir: ${dir}`,
                "user: salt",
                "log_level_logfile: info",
                "",
            ].join("\n"),
        );
        const masterConf = head.files["/etc/salt/master.d/dynamic-cluster.conf"];
        if (!masterConf) throw new Error("the head's highstate writes no master config");
        fs.writeFileSync(
            path.join(configDir, "master.d", "dynamic-cluster.conf"),
            masterConf.content,
        );
        // The key pair: root_dir/etc/salt/pki/master is the master's pki_dir.
        const pki = path.join(dir, "etc", "salt", "pki", "master");
        fs.mkdirSync(pki, { recursive: true });
        const keyLayer = dir; // /etc/salt/pki/master/<file> under root_dir
        place(head, keyLayer, "/etc/salt/pki/master/master.pem", options.masterKey.privatePem);
        place(head, keyLayer, "/etc/salt/pki/master/master.pub", options.masterKey.publicPem);
        fs.chownSync(pki, idOf("passwd", "salt"), idOf("group", "salt"));

        // /etc/dynamic-cluster and /srv, as the head's states leave them (the overlays' upper
        // layers: <dir>/upper/etc is the master's /etc, <dir>/upper/srv its /srv).
        const upper = path.join(dir, "upper");
        const upperSrv = path.join(upper, "srv");
        place(head, upper, "/etc/dynamic-cluster");
        const header = head.files["/etc/dynamic-cluster/reactor-local-api.header"];
        if (!header) throw new Error("the head's highstate writes no reactor header file");
        // The master gets the reactors' own token only: no other caller's header goes into its
        // /etc (the service refuses the reactors' token on every route but /local/v1/salt/*).
        for (const other of ["slurm-local-api.header", "admin-local-api.header"]) {
            const token = head.files[`/etc/dynamic-cluster/${other}`]?.content
                .trim()
                .split(/\s+/)
                .pop();
            if (token && header.content.includes(token))
                throw new Error(`the reactors' header file holds the token of ${other}`);
        }
        place(head, upper, "/etc/dynamic-cluster/reactor-local-api.header", header.content);
        place(head, upper, "/srv/pillar");
        for (const [file, content] of Object.entries(options.pillar)) {
            if (file === "dynamic_cluster_head_secrets.sls") continue; // the head's own salt-call only
            place(head, upper, `/srv/pillar/${file}`, content);
        }
        const tree = path.join(upperSrv, "salt");
        fs.cpSync(SALT_TREE, tree, { recursive: true });
        fs.writeFileSync(path.join(tree, "top.sls"), TEST_TOP);
        fs.mkdirSync(path.join(tree, "dc_test"));
        fs.writeFileSync(path.join(tree, "dc_test", "worker.sls"), TEST_WORKER_SLS);
        const master = new SaltMaster(dir, venv);
        master.setBehaviour(options.behaviour);

        await exec("bash", [path.join(SCRIPTS, "master-up.sh"), dir, String(options.servicePort)], {
            env: { ...process.env, DC_SALT_VENV: venv },
            timeout: 120_000,
        });
        return master;
    }

    /** Sets how workers' highstates behave from now on (nodes not named: "ok"). */
    setBehaviour(behaviour: Record<string, WorkerBehaviour>): void {
        const text = `# node: ok | fail | render-error\n${yaml.dump(behaviour)}`;
        const file = "/srv/salt/dc_test/behaviour.yaml";
        if (!this.running) fs.writeFileSync(path.join(this.dir, "upper", file), text);
        else this.inMasterNamespace(["sh", "-c", 'cat > "$1"', "sh", file], text);
    }

    /** The master runs (its mount namespace holds the overlays). */
    private get running(): boolean {
        return fs.existsSync(path.join(this.dir, "master.pid"));
    }

    /**
     * Runs a command in the master's mount namespace, where /etc and /srv are its overlays: the
     * way to change a file the master reads while it runs (writing the overlay's upper layer
     * from outside is not seen reliably).
     */
    inMasterNamespace(argv: string[], input?: string): void {
        const pid = fs.readFileSync(path.join(this.dir, "master.pid"), "utf8").trim();
        execFileSync("nsenter", [`--target=${pid}`, "--mount", ...argv], {
            input,
            stdio: ["pipe", "ignore", "inherit"],
        });
    }

    /** Runs a `salt` command against the master (as root, in the head's namespace); its JSON. */
    async salt(...args: string[]): Promise<unknown> {
        const { stdout } = await exec(
            "nsenter",
            [
                `--net=/run/netns/${HEAD_NETNS}`,
                path.join(this.venv, "bin", "salt"),
                "-c",
                this.configDir,
                "--out",
                "json",
                ...args,
            ],
            { encoding: "utf8", timeout: 120_000 },
        ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "null" }));
        return JSON.parse(stdout.trim() || "null");
    }

    /** The master's log. */
    log(): string {
        try {
            return fs.readFileSync(path.join(this.dir, "var", "log", "salt", "master"), "utf8");
        } catch {
            return "";
        }
    }

    /** Stops the master and its forwarder. */
    async stop(): Promise<void> {
        await exec("bash", [path.join(SCRIPTS, "master-down.sh"), this.dir], { timeout: 60_000 });
    }
}
