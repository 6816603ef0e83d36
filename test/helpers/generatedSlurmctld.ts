/**
 * A real slurmctld 22.05 (Debian's) running the head's generated slurm.conf, gres.conf and
 * cgroup.conf, with its own munged: only host-specific settings (paths, ports, the controller's
 * host name, the user) are swapped for a throw-away directory; every node, partition, GRES,
 * power-saving and scheduling line is the generated one. Used by
 * test/integration/salt-generated-configs.test.ts.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { setConfigKeys } from "./configText";
import { PILLAR_SECRETS, type Highstate } from "./salt";
import { waitFor } from "./waitFor";

/** A running controller: `env` points Slurm's commands at it. */
export interface GeneratedSlurmctld {
    env: NodeJS.ProcessEnv;
    dir: string;
    /** slurmctld's log so far. */
    log(): string;
    stop(): Promise<void>;
}

function generated(head: Highstate, file: string): string {
    const f = head.files[file];
    if (!f) throw new Error(`${file} is not generated`);
    return f.content;
}

/** Starts munged and slurmctld in `dir` on `port` (and port + 1 for slurmd) for `head`'s files. */
export async function startGeneratedSlurmctld(
    head: Highstate,
    dir: string,
    port: number,
): Promise<GeneratedSlurmctld> {
    const children: ChildProcess[] = [];
    const stop = async (): Promise<void> => {
        for (const child of children.reverse()) {
            if (child.exitCode === null && child.signalCode === null) {
                const exited = new Promise((resolve) => child.once("exit", resolve));
                child.kill("SIGTERM");
                await exited;
            }
        }
    };
    try {
        for (const sub of ["munge", "state", "bin"])
            fs.mkdirSync(path.join(dir, sub), { recursive: true });
        const mungeDir = path.join(dir, "munge");
        execFileSync("chown", ["munge:munge", mungeDir]);
        const keyFile = path.join(mungeDir, "munge.key");
        fs.writeFileSync(keyFile, Buffer.from(PILLAR_SECRETS.mungeKey, "base64"), { mode: 0o400 });
        execFileSync("chown", ["munge:munge", keyFile]);
        const socket = path.join(mungeDir, "munge.socket.2");
        children.push(
            spawn(
                "runuser",
                [
                    ...["-u", "munge", "--", "munged", "--foreground", `--socket=${socket}`],
                    `--key-file=${keyFile}`,
                    `--log-file=${path.join(mungeDir, "munged.log")}`,
                    `--pid-file=${path.join(mungeDir, "munged.pid")}`,
                    `--seed-file=${path.join(mungeDir, "munged.seed")}`,
                ],
                { stdio: "ignore" },
            ),
        );
        await waitFor("munged socket", () => (fs.existsSync(socket) ? true : undefined));

        // The power-saving programs are the generated ones.
        const programs: Record<string, string> = {};
        for (const action of ["resume", "suspend", "resume-fail"]) {
            const target = path.join(dir, "bin", `slurm-${action}`);
            fs.writeFileSync(
                target,
                generated(head, `/usr/local/libexec/dynamic-cluster/slurm-${action}`),
                { mode: 0o755 },
            );
            programs[action] = target;
        }
        const host = execFileSync("hostname", ["-s"], { encoding: "utf8" }).trim();
        const conf = setConfigKeys(
            generated(head, "/etc/slurm/slurm.conf"),
            {
                SlurmctldHost: `${host}(127.0.0.1)`,
                SlurmctldPort: String(port),
                SlurmdPort: String(port + 1),
                SlurmUser: "root",
                StateSaveLocation: path.join(dir, "state"),
                SlurmctldPidFile: path.join(dir, "slurmctld.pid"),
                SlurmctldLogFile: path.join(dir, "slurmctld.log"),
                ResumeProgram: programs["resume"]!,
                SuspendProgram: programs["suspend"]!,
                ResumeFailProgram: programs["resume-fail"]!,
                AuthInfo: `socket=${socket}`,
            },
            { optional: ["AuthInfo"], file: "generated slurm.conf" },
        );
        fs.writeFileSync(path.join(dir, "slurm.conf"), conf);
        fs.writeFileSync(path.join(dir, "cgroup.conf"), generated(head, "/etc/slurm/cgroup.conf"));
        fs.writeFileSync(path.join(dir, "gres.conf"), generated(head, "/etc/slurm/gres.conf"));
        const env = { ...process.env, SLURM_CONF: path.join(dir, "slurm.conf") };
        const slurmctld = spawn("slurmctld", ["-D", "-i", "-f", path.join(dir, "slurm.conf")], {
            env,
            stdio: "ignore",
        });
        children.push(slurmctld);
        await waitFor(
            "slurmctld to answer scontrol ping",
            () => {
                if (slurmctld.exitCode !== null)
                    throw new Error(
                        `slurmctld exited (${slurmctld.exitCode}): ${fs.readFileSync(path.join(dir, "slurmctld.log"), "utf8").slice(-2000)}`,
                    );
                const ping = spawnSync("scontrol", ["ping"], { env, encoding: "utf8" });
                return /is UP/.test(ping.stdout) ? true : undefined;
            },
            { timeoutMs: 60_000, intervalMs: 250 },
        );
        return {
            env,
            dir,
            log: () => fs.readFileSync(path.join(dir, "slurmctld.log"), "utf8"),
            stop,
        };
    } catch (err) {
        await stop();
        throw err;
    }
}
