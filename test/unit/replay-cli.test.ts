/**
 * `npm run replay` as a user runs it (replay/cli.ts in its own process): the provided trace
 * (first 300 jobs, a small sweep) gives the policy table, the sweep with its Pareto front, an
 * SVG plot, JSON results and the `pulumi config` commands; usage mistakes and files that are not
 * traces exit 2 with a message saying what to fix, and nothing is written.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

const root = path.join(__dirname, "../..");
const trace = path.join(root, "test/fixtures/replay/lublin_256.swf");
const dir = mkdtempSync(path.join(tmpdir(), "dc-replay-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function replayCli(...args: string[]) {
    const result = spawnSync(process.execPath, ["--import", "tsx", "replay/cli.ts", ...args], {
        cwd: root,
        encoding: "utf8",
        timeout: 120_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The CLI on the first 300 jobs of the trace with a small idle sweep, the plot and JSON written
 * as `<name>.svg` and `<name>.json`; it must succeed.
 */
function replaySmall(name: string, ...args: string[]) {
    const plot = path.join(dir, `${name}.svg`);
    const json = path.join(dir, `${name}.json`);
    const r = replayCli(
        trace,
        "--limit",
        "300",
        ...args,
        "--sweep-idle",
        "60,600",
        "--plot",
        plot,
        "--json",
        json,
    );
    assert.equal(r.status, 0, r.stderr);
    return { stdout: r.stdout, plot, json };
}

describe("npm run replay", () => {
    it("replays a trace: every policy, the sweep, the plot, the JSON and the config commands", () => {
        const { stdout, plot, json } = replaySmall(
            "sweep",
            "--max",
            "16",
            "--sweep-max",
            "8,16,32",
        );
        const r = { stdout };
        assert.match(r.stdout, /10000 jobs, replaying the first 300/);
        for (const policy of ["service", "static", "original", "naive", "foresight"]) {
            assert.match(r.stdout, new RegExp(`^${policy}\\s+\\d+\\.\\d`, "m"), policy);
        }
        assert.match(r.stdout, /replay speed: service [\d,]+ jobs\/s/);
        assert.match(
            r.stdout,
            /^where the node-hours and the mean wait went:\npolicy\s+used\s+idle\s+booting\s+deleting\s+wait: queue\s+wait: boot$/m,
        );
        assert.match(r.stdout, /^naive\s+[\d.]+ \([\d.]+ %\)\s+[\d.]+ \([\d.]+ %\)/m);
        assert.match(r.stdout, /pulumi config set --path workers\.max (8|16|32)\n/);
        assert.match(r.stdout, /pulumi config set --path workers\.idleTimeout (60|600)\n/);
        assert.match(r.stdout, /pulumi config set --path workers\.min 0\n/);
        const svg = readFileSync(plot, "utf8");
        assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
        assert.match(svg, /Pareto front/);
        const results = JSON.parse(readFileSync(json, "utf8")) as {
            policies: Array<{ policy: string; jobs: number; neverFits: number }>;
            sweep: Array<{ max: number; idleTimeout: number; pareto: boolean }>;
            naive: Array<{
                idleTimeout: number;
                result: { nodeHours: number; waitMean: number };
                beatenBy?: { result: { nodeHours: number; waitMean: number } };
            }>;
            chosen?: { max: number };
        };
        assert.deepEqual(
            results.policies.map((p) => [p.policy, p.jobs + p.neverFits]),
            [
                ["service", 300],
                ["static", 300],
                ["original", 300],
                ["naive", 300],
                ["foresight", 300],
            ],
        );
        assert.equal(results.sweep.length, 6);
        // The naive curve: one point per idle timeout of the sweep, each with the sweep point
        // that beats it or none; the same rows in the output and the triangles in the plot.
        assert.deepEqual(
            results.naive.map((n) => n.idleTimeout),
            [60, 600],
        );
        for (const n of results.naive) {
            if (n.beatenBy) {
                assert.ok(n.beatenBy.result.nodeHours <= n.result.nodeHours);
                assert.ok(n.beatenBy.result.waitMean <= n.result.waitMean);
            }
        }
        assert.match(r.stdout, /^naive reference \(no queue, no maximum/m);
        assert.match(
            r.stdout,
            /^the sweep beats (\d) of 2 naive points|^the sweep beats every point/m,
        );
        assert.equal(
            (svg.match(/<path d="M/g) ?? []).length,
            2 + 2,
            "two naive points, two legend marks",
        );
        assert.ok(results.sweep.some((p) => p.pareto));
        assert.ok(results.chosen, "a point is recommended");
    });

    it("replays several pools from a pools file: the cluster, a row per pool, each pool's sweep and config commands", () => {
        const poolsFile = path.join(dir, "pools.yaml");
        writeFileSync(
            poolsFile,
            `workers: {coresPerNode: 8, max: 16, idleTimeout: 600}
pools:
  - {name: big, coresPerNode: 32, max: 4, jobs: {minCores: 65}}
`,
        );
        const { stdout, json } = replaySmall("pools", "--pools", poolsFile);
        const r = { stdout };
        assert.match(r.stdout, /^ {2}batch \(pool compute\): \d+ jobs: \d+ by default/m);
        assert.match(
            r.stdout,
            /^ {2}big \(pool big\): \d+ jobs: \d+ taken by a pool's jobs selector$/m,
        );
        for (const policy of ["service", "static", "foresight"]) {
            assert.match(r.stdout, new RegExp(`^${policy}\\s+\\d+\\.\\d`, "m"), policy);
        }
        assert.doesNotMatch(r.stdout, /^(original|naive)\s/m, "one-pool references are not run");
        assert.match(r.stdout, /^compute\s+batch\s+8\s+0\s+16\s+600 s\s+0\s/m);
        assert.match(r.stdout, /^big\s+big\s+32\s+0\s+4\s+600 s\s+0\s/m);
        assert.match(r.stdout, /^sweep of pool compute \(workers; partition batch;/m);
        assert.match(r.stdout, /^sweep of pool big \(pools\[0\]; partition big;/m);
        assert.match(r.stdout, /^ {2}pulumi config set --path 'workers\.max' \d+$/m);
        assert.match(
            r.stdout,
            /^ {2}pulumi config set --path 'pools\[0\]\.idleTimeout' (60|600)$/m,
        );
        for (const pool of ["compute", "big"]) {
            assert.match(readFileSync(path.join(dir, `pools-${pool}.svg`), "utf8"), /^<svg /);
        }
        const results = JSON.parse(readFileSync(json, "utf8")) as {
            policies: Array<{ policy: string; jobs: number; neverFits: number; pools: unknown[] }>;
            sweeps: Array<{ pool: string; points: unknown[] }>;
        };
        assert.deepEqual(
            results.policies.map((p) => [p.policy, p.jobs + p.neverFits, p.pools.length]),
            [
                ["service", 300, 2],
                ["static", 300, 2],
                ["foresight", 300, 2],
            ],
        );
        assert.deepEqual(
            results.sweeps.map((s) => [s.pool, s.points.length]),
            [
                ["compute", 10],
                ["big", 10],
            ],
        );
    });

    const refusals: Array<[string, string[], RegExp]> = [
        ["no trace", [], /give exactly one trace file \(got 0\)/],
        ["min above max", [trace, "--min", "5", "--max", "2"], /--min \(5\) is above --max \(2\)/],
        [
            "a number that is not",
            [trace, "--max", "lots"],
            /--max must be a number >= 1 \(got "lots"\)/,
        ],
        ["a fraction of a node", [trace, "--max", "2.5"], /--max must be a whole number/],
        ["a certain failure", [trace, "--failure-rate", "1"], /--failure-rate must be below 1/],
        ["an unknown format", [trace, "--format", "csv"], /--format must be swf, sacct or torque/],
        [
            "a floor above the quota",
            [trace, "--min", "4", "--quota", "3"],
            /--quota \(3\) is below --min \(4\)/,
        ],
        ["an unknown option", [trace, "--maxx", "3"], /Unknown option '--maxx'/],
        ["a missing file", [path.join(dir, "nope.swf")], /nope\.swf/],
        [
            "pool settings on the command line beside a pools file",
            [trace, "--pools", path.join(dir, "ok-pools.yaml"), "--max", "4"],
            /with --pools, each pool's min, max, idleTimeout and coresPerNode come from the file.*drop --max/,
        ],
        [
            "a pools file with a mistake",
            [trace, "--pools", path.join(dir, "bad-pools.yaml")],
            /bad-pools\.yaml is not a pools file:\n {2}workers\.coresPerNode: /,
        ],
        [
            "a missing pools file",
            [trace, "--pools", path.join(dir, "none.yaml")],
            /cannot read the pools file/,
        ],
    ];
    writeFileSync(path.join(dir, "ok-pools.yaml"), "workers: {coresPerNode: 4}\n");
    writeFileSync(path.join(dir, "bad-pools.yaml"), "workers: {max: 4}\n");
    for (const [what, args, message] of refusals) {
        it(`refuses ${what} with exit 2 and says why`, () => {
            const r = replayCli(...args);
            assert.equal(r.status, 2, r.stdout + r.stderr);
            assert.match(r.stderr, message);
            assert.equal(r.stdout, "");
        });
    }

    it("refuses a file that is not a trace, writing no plot", () => {
        const notTrace = path.join(dir, "results.json.txt");
        writeFileSync(notTrace, '{"jobs": [1, 2, 3]}\n');
        const plot = path.join(dir, "never.svg");
        const r = replayCli(notTrace, "--plot", plot);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /^replay: .*JSON, not a trace; expected a workload trace/);
        assert.equal(existsSync(plot), false);
    });
});
