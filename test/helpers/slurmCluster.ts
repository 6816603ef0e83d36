/**
 * The tests' real Slurm cluster (test/env/slurm/*.sh): writes the slurm.conf, cgroup.conf,
 * plugstack.conf and power-saving programs the Salt tree generates for the head node, with only host-specific keys
 * swapped for a throw-away directory (paths, auth socket, the user Slurm runs as, timings the
 * tests shorten), starts munged and slurmctld, and adds or removes worker "hosts" (network
 * namespaces running slurmd). Everything it starts is stopped by `down()`.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { setConfigKeys } from "./configText";
import type { Highstate } from "./salt";

const ENV_DIR = path.resolve(__dirname, "../env/slurm");
const exec = promisify(execFile);

/** The network namespace of the head (slurmctld and the bridge; see test/env/slurm/lib.sh). */
export const HEAD_NETNS = "dcslurm-head";

/** The name test/env/slurm/up.sh gives the machine's own network namespace. */
export const HOST_NETNS = "dcslurm-host";

/** The command prefix that runs a program in the head's network namespace. */
export const IN_HEAD = ["nsenter", `--net=/run/netns/${HEAD_NETNS}`];

/** Options of a test cluster. */
export interface SlurmClusterOptions {
    /** Work directory (created). */
    dir: string;
    /** The head node's rendered highstate (its files are the cluster's configuration). */
    head: Highstate;
    /** The munge key (base64, from the pillar's cluster secrets). */
    mungeKeyBase64: string;
    /** slurm.conf keys to replace (or add), e.g. shorter SuspendTime for tests. */
    overrides?: Record<string, string>;
    /** Replaces text in the power-saving programs (e.g. the CLI path and the API URL). */
    programEdits?: Array<[string | RegExp, string]>;
}

/** A file the head highstate generates. */
function fileOf(head: Highstate, p: string): string {
    const f = head.files[p];
    if (!f) throw new Error(`the head highstate does not generate ${p}`);
    return f.content;
}

/** A running test cluster. */
export class SlurmCluster {
    readonly env: NodeJS.ProcessEnv;
    readonly confPath: string;

    private constructor(
        readonly dir: string,
        private readonly options?: SlurmClusterOptions,
    ) {
        this.confPath = path.join(dir, "etc", "slurm.conf");
        this.env = { ...process.env, DC_SLURM_DIR: dir, SLURM_CONF: this.confPath };
    }

    /** Writes the configuration and starts munged and slurmctld. */
    static async start(options: SlurmClusterOptions): Promise<SlurmCluster> {
        const { dir, head } = options;
        for (const sub of ["etc", "bin", "munge", "state", "log", "run", "spool"]) {
            fs.mkdirSync(path.join(dir, sub), { recursive: true });
        }
        fs.chmodSync(dir, 0o755);
        const programs = SlurmCluster.writePrograms(options);
        const conf = SlurmCluster.confFor(options, head, programs);
        fs.writeFileSync(path.join(dir, "etc", "slurm.conf"), conf);
        // cgroup.conf, gres.conf and plugstack.conf (the spank_pbs plugin of Torque users' jobs)
        // beside slurm.conf, as on the head: slurmctld serves them to the configless workers.
        for (const file of ["cgroup.conf", "gres.conf", "plugstack.conf"]) {
            fs.writeFileSync(path.join(dir, "etc", file), fileOf(head, `/etc/slurm/${file}`));
        }
        fs.writeFileSync(
            path.join(dir, "munge", "munge.key"),
            Buffer.from(options.mungeKeyBase64, "base64"),
            {
                mode: 0o400,
            },
        );
        const cluster = new SlurmCluster(dir, options);
        try {
            await cluster.script("up.sh");
        } catch (err) {
            await cluster.down().catch(() => undefined);
            throw err;
        }
        return cluster;
    }

    /** The power-saving programs as the head writes them, with the tests' edits. */
    private static writePrograms(options: SlurmClusterOptions): Record<string, string> {
        const programs: Record<string, string> = {};
        for (const action of ["resume", "suspend", "resume-fail"]) {
            let text = fileOf(options.head, `/usr/local/libexec/dynamic-cluster/slurm-${action}`);
            for (const [from, to] of options.programEdits ?? []) text = text.replace(from, to);
            const target = path.join(options.dir, "bin", `slurm-${action}`);
            fs.writeFileSync(target, text, { mode: 0o755 });
            programs[action] = target;
        }
        // The head's qsub front for Torque users' scripts (head/torque_commands.sls), run as
        // the head runs it: in front of Slurm's own /usr/bin/qsub.
        fs.writeFileSync(
            path.join(options.dir, "bin", "qsub"),
            fileOf(options.head, "/usr/local/bin/qsub"),
            { mode: 0o755 },
        );
        return programs;
    }

    /** The head's slurm.conf with this cluster's paths and the tests' overrides. */
    private static confFor(
        options: SlurmClusterOptions,
        head: Highstate,
        programs: Record<string, string>,
    ): string {
        const dir = options.dir;
        // A pool's partition carries its own SuspendTime (its idleTimeout, at least 60 s): the
        // tests' shorter one applies to every partition as to the cluster.
        const suspendTime = options.overrides?.["SuspendTime"];
        const generated = fileOf(head, "/etc/slurm/slurm.conf").replace(
            /^(PartitionName=.* SuspendTime=)\d+$/gm,
            (line, start: string) => (suspendTime === undefined ? line : `${start}${suspendTime}`),
        );
        return setConfigKeys(
            generated,
            {
                SlurmUser: "root",
                StateSaveLocation: path.join(dir, "state"),
                SlurmdSpoolDir: path.join(dir, "spool", "%n"),
                SlurmctldPidFile: path.join(dir, "run", "slurmctld.pid"),
                SlurmdPidFile: path.join(dir, "run", "slurmd-%n.pid"),
                SlurmctldLogFile: path.join(dir, "log", "slurmctld.log"),
                SlurmdLogFile: path.join(dir, "log", "slurmd-%n.log"),
                // cred_expire also sets how long Slurm holds a requeued job back (default 120 s).
                AuthInfo: `socket=${path.join(dir, "munge", "munge.socket.2")},cred_expire=20`,
                // The namespaces share the machine's kernel and cgroup tree.
                ProctrackType: "proctrack/linuxproc",
                TaskPlugin: "task/none",
                CommunicationParameters: "NoCtldInAddrAny",
                MailProg: "/bin/true",
                ResumeProgram: programs["resume"]!,
                SuspendProgram: programs["suspend"]!,
                ResumeFailProgram: programs["resume-fail"]!,
                ...options.overrides,
            },
            // Keys the generated file leaves to Slurm's defaults are added.
            { optional: "all" },
        );
    }

    /**
     * A new head highstate applied as its Salt state does: slurm.conf rewritten, and slurmctld
     * restarted only when the file changed (the state's `watch`). True when it restarted.
     */
    async applyHead(head: Highstate): Promise<boolean> {
        const options = { ...this.options!, head };
        const conf = SlurmCluster.confFor(options, head, SlurmCluster.writePrograms(options));
        if (conf === fs.readFileSync(this.confPath, "utf8")) return false;
        fs.writeFileSync(this.confPath, conf);
        await this.restartController();
        return true;
    }

    private async script(name: string, ...args: string[]): Promise<string> {
        return this.scriptWith({}, name, ...args);
    }

    private async scriptWith(
        env: Record<string, string>,
        name: string,
        ...args: string[]
    ): Promise<string> {
        const { stdout } = await exec("bash", [path.join(ENV_DIR, name), ...args], {
            env: { ...this.env, ...env },
            encoding: "utf8",
            timeout: 120_000,
        });
        return stdout.trim();
    }

    /** Runs a Slurm client command against this cluster (in the head's network namespace). */
    async run(command: string, ...args: string[]): Promise<string> {
        const [prefix, ...prefixArgs] = IN_HEAD as [string, ...string[]];
        const { stdout } = await exec(prefix, [...prefixArgs, command, ...args], {
            env: this.env,
            encoding: "utf8",
            timeout: 60_000,
        });
        return stdout;
    }

    /** The head's `qsub` (/usr/local/bin/qsub there), written from its highstate. */
    get qsub(): string {
        return path.join(this.dir, "bin", "qsub");
    }

    /** Boots a worker host with `address` and starts its slurmd (unless `slurmd` is false). */
    async hostUp(node: string, address: string, slurmd = true): Promise<void> {
        await this.script("host-up.sh", node, address, ...(slurmd ? [] : ["--no-slurmd"]));
    }

    /**
     * Boots a worker host with `address` running the real salt-minion of `venv` with the
     * configuration in `configDir` (its highstate then starts slurmd in the host).
     */
    async hostUpWithMinion(
        node: string,
        address: string,
        configDir: string,
        venv: string,
    ): Promise<void> {
        await this.scriptWith(
            { DC_SALT_VENV: venv },
            "host-up.sh",
            node,
            address,
            "--salt-minion",
            configDir,
        );
    }

    /** Powers a worker host off. */
    async hostDown(node: string): Promise<void> {
        await this.script("host-down.sh", node);
    }

    /** Worker hosts running now (namespaces). */
    hosts(): string[] {
        const out = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
        return out
            .split("\n")
            .map((l) => l.split(" ")[0] ?? "")
            .filter((n) => n.startsWith("dcw-"))
            .map((n) => n.slice(4));
    }

    /** Restarts slurmctld (state is kept). */
    async restartController(): Promise<void> {
        const pid = Number(fs.readFileSync(path.join(this.dir, "run", "slurmctld.pid"), "utf8"));
        process.kill(pid, "SIGTERM");
        for (let i = 0; i < 200 && fs.existsSync(`/proc/${pid}`); i++)
            await new Promise((r) => setTimeout(r, 50));
        await this.script("ctld.sh");
    }

    /** Stops everything this cluster started. */
    async down(): Promise<void> {
        await this.script("down.sh");
    }

    /** The controller's log (for failure messages). */
    log(): string {
        try {
            return fs.readFileSync(path.join(this.dir, "log", "slurmctld.log"), "utf8");
        } catch {
            return "";
        }
    }
}
