/**
 * The emulated head node of the deployment test (test/env/head/up.sh says what it stands in
 * for): started at the floating IP the local Neutron hands out, with Debian's real sshd; its file
 * system writes are read back from the overlay's upper layer.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

const SCRIPTS = path.resolve(__dirname, "../env/head");

/** A running emulated head. */
export interface EmulatedHead {
    dir: string;
    address: string;
    /** Path on the machine of a file the head wrote (e.g. `/srv/pillar/top.sls`). */
    written(file: string): string;
    /** Content of a file the head wrote, or undefined when it did not write it. */
    read(file: string): string | undefined;
    /** Owner, group and octal mode of a file the head wrote, as `root salt 0640`. */
    ownershipOf(file: string): string;
    /** Lines the stand-ins recorded (`cloud-init.log`, `salt-call.log`, `salt-call.checks`). */
    log(name: string): string[];
    stop(): void;
}

/** Upper-layer directory of each overlaid top-level directory (see up.sh). */
const LAYERS: Record<string, string> = {
    etc: "etc",
    home: "home",
    opt: "opt",
    srv: "srv",
    var: "var",
    run: "run",
    usr: "usr-local",
};

/**
 * Starts a head in `dir` answering SSH at `address` for `user` with `publicKeyFile`, reached
 * from the machine through `gateway`.
 */
export function startEmulatedHead(options: {
    dir: string;
    name: string;
    address: string;
    gateway: string;
    user: string;
    publicKeyFile: string;
}): EmulatedHead {
    const { dir, name, address, gateway, user, publicKeyFile } = options;
    const result = spawnSync(
        "bash",
        [path.join(SCRIPTS, "up.sh"), dir, name, address, gateway, user, publicKeyFile],
        { encoding: "utf8", timeout: 60_000 },
    );
    if (result.status !== 0) {
        // What it set up so far goes; CI keeps no files, so the error carries the script's words.
        spawnSync("bash", [path.join(SCRIPTS, "down.sh"), dir], { stdio: "ignore" });
        const sshdLog = path.join(dir, "upper", "var", "log", "dc-emulated-head", "sshd.log");
        throw new Error(
            `the emulated head did not start (exit ${result.status ?? result.signal}):\n${result.stderr}` +
                (existsSync(sshdLog) ? `\nsshd.log:\n${readFileSync(sshdLog, "utf8")}` : ""),
        );
    }
    const written = (file: string): string => {
        const parts = file.split("/").filter(Boolean);
        const top = parts[0] ?? "";
        if (top === "usr") {
            if (parts[1] !== "local") throw new Error(`${file} is not on the head's own layer`);
            return path.join(dir, "upper", "usr-local", ...parts.slice(2));
        }
        const layer = LAYERS[top];
        if (!layer) throw new Error(`${file} is not on the head's own layer`);
        return path.join(dir, "upper", layer, ...parts.slice(1));
    };
    return {
        dir,
        address,
        written,
        read: (file) =>
            existsSync(written(file)) ? readFileSync(written(file), "utf8") : undefined,
        ownershipOf: (file) => {
            const [owner, group, mode] = execFileSync(
                "stat",
                ["--format=%U %G %a", written(file)],
                {
                    encoding: "utf8",
                },
            )
                .trim()
                .split(" ");
            return `${owner} ${group} ${mode!.padStart(4, "0")}`;
        },
        log: (logName) => {
            const file = written(`/var/log/dc-emulated-head/${logName}`);
            return existsSync(file)
                ? readFileSync(file, "utf8")
                      .split("\n")
                      .filter((line) => line !== "")
                : [];
        },
        stop: () => {
            execFileSync("bash", [path.join(SCRIPTS, "down.sh"), dir], { stdio: "inherit" });
        },
    };
}
