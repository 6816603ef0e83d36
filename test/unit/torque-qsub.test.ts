/**
 * The head's qsub front (salt/dynamic_cluster/files/head/qsub.py): which of a script's #PBS
 * directives it copies to the command line it hands Slurm's qsub, table-driven. Slurm's qsub is
 * replaced by a program that prints its arguments (DC_SLURM_QSUB); the real one runs in
 * test/integration/autoscaler-e2e.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

const FRONT = path.resolve(__dirname, "../../salt/dynamic_cluster/files/head/qsub.py");

describe("the head's qsub front: a script's -N, -o, -e and -j reach Slurm's qsub", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-qsub-"));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const printer = path.join(dir, "slurm-qsub");
    fs.writeFileSync(printer, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n", { mode: 0o755 });
    const script = (name: string, lines: string[]): string => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, ["#!/bin/bash", ...lines, ""].join("\n"));
        return file;
    };
    const TORQUE = script("torque.pbs", [
        "# a comment",
        "#PBS -N hello",
        "#PBS -l nodes=2:ppn=1 -o /data/fred/hello.out",
        "#PBS -e /data/fred/hello.err",
        "#PBS -j oe",
        "cd $PBS_O_WORKDIR",
        "#PBS -N after-the-first-command",
    ]);
    const LATE = script("late.pbs", ["echo first", "#PBS -N too-late"]);
    const BARE_JOIN = script("join.pbs", ["#PBS -j", "#PBS -N quoted\\ name"]);
    const QUOTED = script("quoted.pbs", ["#PBS -o '/data/my dir/out' # the output"]);

    /** What the front puts before the command line for TORQUE's directives. */
    const FROM_TORQUE = ["-N", "hello", "-o", "/data/fred/hello.out", "-e", "/data/fred/hello.err"];
    const JOIN = ["-j", "oe"];
    const OPTIONS = ["-l", "walltime=1:00:00", "-W", "depend=afterok:7", "-pe", "shm", "4"];
    const MISSING = path.join(dir, "nope.pbs");
    const cases: Array<[string, string[], string[]]> = [
        [
            "all four from the script, in front of the command line",
            [TORQUE],
            [...FROM_TORQUE, ...JOIN, TORQUE],
        ],
        [
            "the command line wins (separate, inline and double-dash values)",
            ["-o", "cli.out", "-N=cli", "--e", "cli.err", TORQUE],
            [...JOIN, "-o", "cli.out", "-N=cli", "--e", "cli.err", TORQUE],
        ],
        [
            "options with values before the script are skipped over",
            [...OPTIONS, ...JOIN, "-V", TORQUE],
            [...FROM_TORQUE, ...OPTIONS, ...JOIN, "-V", TORQUE],
        ],
        ["no directive after the first command", [LATE], [LATE]],
        [
            "a bare -j means oe; quoted values stay whole",
            [BARE_JOIN],
            ["-N", "quoted name", ...JOIN, BARE_JOIN],
        ],
        ["quotes and a trailing comment", [QUOTED], ["-o", "/data/my dir/out", QUOTED]],
        ["after --", ["--", TORQUE], [...FROM_TORQUE, ...JOIN, "--", TORQUE]],
        ["a missing script: unchanged (Slurm's qsub says so)", [MISSING], [MISSING]],
        ["no script (interactive): unchanged", ["-I", "-l", "nodes=1"], ["-I", "-l", "nodes=1"]],
    ];
    for (const [what, args, expected] of cases) {
        it(what, () => {
            const run = spawnSync("python3", [FRONT, ...args], {
                encoding: "utf8",
                env: { ...process.env, DC_SLURM_QSUB: printer },
            });
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(run.stdout.split("\n").slice(0, -1), expected);
        });
    }
});
