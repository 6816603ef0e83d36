/**
 * Highstate outcomes from the master's job cache, on output captured from a real Salt 3006.28
 * master (test/fixtures/salt/): a clean highstate, one with a failed state, one that did not
 * render; and signed node stats verified against the minion's key.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { CommandRunner } from "../../autoscaler/infra/exec";
import { highstateVerdict, type JobReturn, SaltJobs } from "../../autoscaler/salt/jobs";
import { verifySignedStats } from "../../autoscaler/salt/stats";

const FIXTURES = path.resolve(__dirname, "../fixtures/salt");
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), "utf8");
const MINION = "test-minion-1";

/** `salt-run` answering from the captured outputs; records its argument vectors. */
function capturedSaltRun(calls: string[][]): CommandRunner {
    const byJid: Record<string, string> = {
        "20261130191243006645": "list_job-highstate-ok.json",
        "20261130191243619337": "list_job-highstate-failed.json",
        "20261130191244200974": "list_job-highstate-render-error.json",
        "20261130190928542761": "list_job-test-ping.json",
    };
    return async (command, args) => {
        calls.push([command, ...args]);
        const fun = args[4];
        if (fun === "jobs.list_job") {
            return { stdout: fixture(byJid[args[5]!] ?? "list_job-unknown.json"), stderr: "" };
        }
        throw new Error(`unexpected salt-run ${args.join(" ")}`);
    };
}

function returnOf(file: string): JobReturn {
    return (JSON.parse(fixture(file)) as { Result: Record<string, JobReturn> }).Result[MINION]!;
}

describe("highstateVerdict (real job returns)", () => {
    it("a highstate whose every state succeeded is ready", () => {
        assert.deepEqual(highstateVerdict(returnOf("list_job-highstate-ok.json")), { ok: true });
    });
    it("a failed state fails the worker, naming the state and Salt's comment", () => {
        assert.deepEqual(highstateVerdict(returnOf("list_job-highstate-failed.json")), {
            ok: false,
            reason: "failed states: world (mount /data failed)",
        });
    });
    it("a highstate that did not render fails the worker with Salt's error", () => {
        const verdict = highstateVerdict(returnOf("list_job-highstate-render-error.json"));
        assert.equal(verdict.ok, false);
        assert.match(
            (verdict as { reason: string }).reason,
            /^the highstate did not compile: Rendering SLS 'base:bad' failed: Jinja variable 'undefined_thing' is undefined/,
        );
    });
    const table: Array<[string, JobReturn, boolean]> = [
        ["no state at all (no top file match)", { return: {}, retcode: 0 }, false],
        [
            "a non-zero retcode",
            { return: { "a_|-b_|-c_|-d": { result: true } }, retcode: 2 },
            false,
        ],
        [
            "a state with result None (test mode)",
            { return: { "a_|-b_|-c_|-d": { result: null } } },
            false,
        ],
        ["a string", { return: "Minion did not return", retcode: 1 }, false],
    ];
    for (const [what, ret, ok] of table) {
        it(`${what}: ${ok ? "ready" : "failed"}`, () => assert.equal(highstateVerdict(ret).ok, ok));
    }
});

/** The tools of a SaltJobs whose `salt-run` answers from the captures and `salt` with `publish`. */
function tools(
    calls: string[][],
    publish: (args: readonly string[]) => string = () => "",
): ConstructorParameters<typeof SaltJobs>[0] {
    return {
        run: capturedSaltRun(calls),
        saltRun: "/opt/salt/bin/salt-run",
        publish: async (command, args) => {
            calls.push([command, ...args]);
            return { stdout: publish(args), stderr: "" };
        },
        salt: "/opt/salt/bin/salt",
        configDir: "/etc/salt",
    };
}

describe("SaltJobs", () => {
    it("reads a job with `salt-run -c <master config> --out json jobs.list_job <jid>`", async () => {
        const calls: string[][] = [];
        const jobs = new SaltJobs(tools(calls));
        const job = await jobs.job("20261130191243619337");
        assert.equal(job?.function, "state.apply");
        assert.deepEqual([...job!.results.keys()], [MINION]);
        assert.deepEqual(calls, [
            [
                "/opt/salt/bin/salt-run",
                "-c",
                "/etc/salt",
                "--out",
                "json",
                "jobs.list_job",
                "20261130191243619337",
            ],
        ]);
    });
    it("answers undefined for a jid the cache lacks, and never passes a malformed jid", async () => {
        const calls: string[][] = [];
        const jobs = new SaltJobs(tools(calls));
        assert.equal(await jobs.job("20261130000000000000"), undefined);
        assert.equal(await jobs.job("1; rm -rf /"), undefined);
        assert.equal(calls.length, 1);
    });
    it("starts a highstate on exactly one minion (a list target), queued, and returns its job ID", async () => {
        const calls: string[][] = [];
        // What salt 3006 prints for `--async` (salt/cli/salt.py).
        const jobs = new SaltJobs(
            tools(calls, () => "Executed command with job ID: 20261206201500123456\n"),
        );
        assert.equal(await jobs.startHighstate(MINION), "20261206201500123456");
        assert.deepEqual(calls, [
            [
                "/opt/salt/bin/salt",
                "-c",
                "/etc/salt",
                "--async",
                "-L",
                MINION,
                "state.apply",
                "queue=True",
            ],
        ]);
    });
    it("fails when the master matched no minion (job ID 0), and never targets a glob or a list", async () => {
        const calls: string[][] = [];
        const jobs = new SaltJobs(tools(calls, () => "Executed command with job ID: 0\n"));
        await assert.rejects(
            jobs.startHighstate(MINION),
            /published no highstate for test-minion-1/,
        );
        for (const target of ["*", "a,b", "a b", "../x", ""]) {
            await assert.rejects(jobs.startHighstate(target), /refusing to target/);
        }
        assert.equal(calls.length, 1);
    });
});

describe("verifySignedStats", () => {
    const minion = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = minion.publicKey.export({ type: "spki", format: "pem" }).toString();
    const signed = JSON.stringify({
        id: "compute-dy-1-abc",
        metrics: { "load.1m": 0.5 },
        time: 1796065790,
    });
    const signature = (text: string, key = minion.privateKey): string =>
        sign("sha256", Buffer.from(text), key).toString("base64");

    it("accepts stats signed by the minion's key, for its own ID", () => {
        assert.deepEqual(
            verifySignedStats(
                { id: "compute-dy-1-abc", signed, signature: signature(signed) },
                pem,
            ),
            {
                time: 1796065790,
                metrics: { "load.1m": 0.5 },
            },
        );
    });
    it("refuses another key, another claimed ID, altered text and garbage", () => {
        const good = { id: "compute-dy-1-abc", signed, signature: signature(signed) };
        assert.equal(
            verifySignedStats({ ...good, signature: signature(signed, other.privateKey) }, pem),
            undefined,
        );
        assert.equal(verifySignedStats({ ...good, id: "compute-dy-2-xyz" }, pem), undefined);
        assert.equal(
            verifySignedStats({ ...good, signed: signed.replace("0.5", "9.5") }, pem),
            undefined,
        );
        assert.equal(verifySignedStats({ ...good, signature: "not base64!" }, pem), undefined);
        assert.equal(verifySignedStats(good, "not a key"), undefined);
    });
});
