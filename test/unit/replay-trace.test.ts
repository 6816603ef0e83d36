/**
 * The replay tool's workload-trace readers (replay/trace): SWF on the Lublin model's 10,000-job
 * trace (test/fixtures/replay/lublin_256.swf, a copy of the Parallel Workloads Archive file), malformed and skipped lines with their line numbers, texts that
 * are not traces refused with a message that says why, `sacct --parsable2` output captured from
 * a real Slurm 22.05 with slurmdbd (test/env/slurm/capture-sacct.sh), Torque accounting records
 * shaped like the Torque Administrator Guide's example, and the parse time of a large trace.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { detectFormat, jobsOfPartition, readTrace, readTraceFile } from "../../replay/trace";
import { parseSlurmDuration, parseSlurmTime, SACCT_COMMAND } from "../../replay/trace/sacct";
import { execHostCores, nodesSpecCores, parseTorqueDuration } from "../../replay/trace/torque";
import { TraceError, type Trace } from "../../replay/trace/types";

const LUBLIN = path.join(__dirname, "../fixtures/replay/lublin_256.swf");
const SACCT = path.join(__dirname, "../fixtures/replay/sacct-parsable2.txt");

/** An SWF job line from its 18 fields. */
const swf = (...fields: number[]) => fields.join(" ");
/** An SWF job: number, submit, run time, allocated and requested processors, requested time, user. */
const job = (
    id: number,
    submit: number,
    run: number,
    alloc: number,
    req = -1,
    time = -1,
    user = -1,
) => swf(id, submit, -1, run, alloc, -1, -1, req, time, -1, 1, user, -1, -1, 1, -1, -1, -1);

/** The error `fn` throws, checked to be a TraceError. */
function refusal(fn: () => unknown): TraceError {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof TraceError, `expected a TraceError, got ${String(err)}`);
        return err;
    }
    assert.fail("expected a TraceError");
}

describe("SWF: the Lublin model's 10,000-job trace", () => {
    const started = performance.now();
    const trace = readTraceFile(LUBLIN);
    const ms = performance.now() - started;

    it("reads every job, none skipped or malformed, in well under a second", () => {
        assert.equal(trace.format, "swf");
        assert.equal(trace.source, LUBLIN);
        assert.equal(trace.jobs.length, 10000);
        assert.equal(trace.skipped.length, 0);
        assert.equal(trace.malformed.length, 0);
        assert.ok(ms < 500, `parsed in ${ms.toFixed(0)} ms`);
    });
    it("keeps the header comments", () => {
        assert.equal(trace.header["MaxNodes"], "256");
        assert.equal(trace.header["MaxJobs"], "10000");
        assert.equal(trace.header["Version"], "2");
        assert.equal(trace.startEpoch, undefined); // no UnixStartTime in this trace
    });
    it("makes submit times relative to the first job (submitted at 5094 s in the file)", () => {
        assert.deepEqual(trace.jobs[0], { id: "1", submit: 0, runtime: 12072, processors: 16 });
        assert.deepEqual(trace.jobs[1], {
            id: "2",
            submit: 5170 - 5094,
            runtime: 2,
            processors: 1,
        });
        assert.deepEqual(trace.jobs[9999], {
            id: "10000",
            submit: 7706607,
            runtime: 13929,
            processors: 3,
        });
    });
    it("sorts by submit time", () => {
        for (let i = 1; i < trace.jobs.length; i++) {
            assert.ok(trace.jobs[i - 1]!.submit <= trace.jobs[i]!.submit, `job ${i}`);
        }
    });
});

describe("SWF: skipped and malformed lines", () => {
    const text = [
        "; Version: 2",
        "; UnixStartTime: 1000000000",
        "; MaxNodes: 64",
        job(1, 100, 60, 4, 4, 120, 7), // line 4
        job(2, 90, 30, -1, 8), // requested processors only
        job(3, 110, -1, 2), // run time unknown
        job(4, 120, 0, 2), // run time 0
        job(5, 130, 10, -1, -1), // processors unknown
        "6 140 -1 10 2", // line 9: 5 fields
        swf(7, 150, -1, 10, 2, -1, -1, -1, -1, -1, 1, -1, -1, -1, 1, -1, -1).replace("150", "1x0"),
        job(8, -1, 10, 2), // submit unknown
        "",
        job(9, 90, 5, 1), // line 13: same submit as job 2
    ].join("\n");
    const trace = readTrace(text, "inline.swf");

    it("reads the jobs, sorted by submit then ID, relative to the first submit", () => {
        assert.deepEqual(trace.jobs, [
            { id: "2", submit: 0, runtime: 30, processors: 8 },
            { id: "9", submit: 0, runtime: 5, processors: 1 },
            { id: "1", submit: 10, runtime: 60, processors: 4, requestedTime: 120, user: "7" },
        ]);
        assert.equal(trace.startEpoch, 1000000000 + 90);
    });
    const skipped: Array<[number, RegExp]> = [
        [6, /run time unknown/],
        [7, /run time 0/],
        [8, /processors unknown/],
        [11, /submit time unknown/],
    ];
    for (const [line, reason] of skipped) {
        it(`skips line ${line} (${reason.source})`, () => {
            const p = trace.skipped.find((s) => s.line === line);
            assert.ok(p, `line ${line} not skipped: ${JSON.stringify(trace.skipped)}`);
            assert.match(p.reason, reason);
        });
    }
    it("reports malformed lines with their numbers and the reason", () => {
        assert.deepEqual(
            trace.malformed.map((p) => [p.line, p.reason]),
            [
                [9, "expected 18 fields, found 5"],
                [10, "expected 18 fields, found 17"],
            ],
        );
        assert.equal(trace.malformed[0]!.text, "6 140 -1 10 2");
    });
    it("reports a non-numeric field by its number and name", () => {
        const t = readTrace(
            [job(1, 0, 5, 1), job(2, 0, 5, 1).replace(" 0 ", " zero ")].join("\n"),
            "x",
        );
        assert.deepEqual(
            t.malformed.map((p) => [p.line, p.reason]),
            [[2, 'field 2 (submit time) is not a number: "zero"']],
        );
    });
    it("cuts the text of a problem to 200 characters", () => {
        const long = `${"9 ".repeat(150)}`;
        const t = readTrace([job(1, 0, 5, 1), job(2, 0, 5, 1), long].join("\n"), "x", "swf");
        assert.equal(t.malformed[0]!.line, 3);
        assert.equal(t.malformed[0]!.text.length, 200);
    });
});

describe("texts that are not traces are refused", () => {
    const cases: Array<[string, string | Buffer, RegExp]> = [
        ["an empty file", "\n  \n", /the file is empty; expected a workload trace/],
        ["a binary file", Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0, 0, 0]), /binary/],
        ["JSON", '{"jobs": [{"id": 1}]}\n', /line 1 starts JSON/],
        ["CSV", "id,submit,runtime,cores\n1,0,60,4\n", /line 1 looks like CSV/],
        ["prose", "hello\nworld\n", /line 1 is not the start of any trace format/],
        [
            "sacct output made with --noheader",
            "12|root|2026-12-01T00:55:38|2026-12-01T00:55:39|2026-12-01T00:55:43|00:00:04|2|2|00:01:00|COMPLETED\n",
            /not a sacct header .*--noheader/s,
        ],
        [
            "an SWF file whose lines are mostly malformed",
            `; Version: 2\n${job(1, 0, 5, 1)}\n1 2 3\n4 5 6\n`,
            /not a swf trace: 2 of 3 record lines are malformed, the first is line 3 \(expected 18 fields, found 3\)/,
        ],
        [
            "an SWF file without a replayable job",
            `${job(1, 0, -1, 1)}\n${job(2, 5, 0, 1)}\n`,
            /no replayable job .*2 skipped.*line 1 \(run time unknown/,
        ],
    ];
    for (const [name, content, message] of cases) {
        it(`refuses ${name}`, () => {
            const dir = mkdtempSync(path.join(tmpdir(), "trace-"));
            try {
                const file = path.join(dir, "trace");
                writeFileSync(file, content);
                const err = refusal(() => readTraceFile(file));
                assert.match(err.message, message);
                assert.ok(err.message.startsWith(file), err.message);
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        });
    }
    it("tells how to produce each format", () => {
        const err = refusal(() => readTrace("hello", "x"));
        assert.match(err.message, /swf: .*Parallel Workloads Archive/);
        assert.match(err.message, /sacct: the output of: sacct --allusers --parsable2/);
        assert.match(err.message, /torque: .*server_priv\/accounting/);
    });
    it("refuses a missing file and a directory", () => {
        assert.match(
            refusal(() => readTraceFile("/nonexistent/trace.swf")).message,
            /no such file/,
        );
        assert.match(refusal(() => readTraceFile(__dirname)).message, /is a directory/);
    });
    it("refuses a sacct file without the fields it needs, naming them and the command", () => {
        const err = refusal(() => readTrace("JobID|User|Submit|State\n1|root|x|COMPLETED\n", "s"));
        assert.match(err.message, /lacks the fields Start, Elapsed, AllocCPUS/);
        assert.ok(err.message.includes(SACCT_COMMAND));
    });
});

describe("sacct --parsable2 captured from a real Slurm 22.05 with slurmdbd", () => {
    const trace = readTraceFile(SACCT);

    it("reads the allocations, not the steps", () => {
        assert.equal(trace.format, "sacct");
        // 12 allocations: 9 ran; a plain and a 2-component heterogeneous job cancelled while
        // pending (Elapsed 0); 10 steps (.batch, .0) ignored.
        assert.deepEqual(
            trace.jobs.map((j) => j.id),
            ["1", "5", "6", "7", "8_1", "8_2", "8_3", "9", "10"],
        );
        assert.deepEqual(
            trace.skipped.map((p) => [p.line, p.reason]),
            [
                [4, "run time 0 (State CANCELLED)"],
                [5, "run time 0 (State CANCELLED)"],
                [6, "run time 0 (State CANCELLED)"],
            ],
        );
        assert.equal(trace.malformed.length, 0);
        assert.equal(
            trace.header["fields"],
            "JobID,User,Submit,Start,End,Elapsed,AllocCPUS,ReqCPUS,Timelimit,State",
        );
    });
    it("reads times, cores, limits and users", () => {
        const byId = new Map(trace.jobs.map((j) => [j.id, j]));
        assert.deepEqual(byId.get("1"), {
            id: "1",
            submit: 0,
            runtime: 4,
            processors: 2,
            requestedTime: 60,
            user: "root",
        });
        assert.equal(byId.get("7")!.requestedTime, 86400); // Timelimit 1-00:00:00
        assert.equal(byId.get("9")!.runtime, 1); // FAILED after 1 s: it ran, it is replayed
        assert.equal(byId.get("10")!.processors, 2);
        assert.equal(byId.get("8_3")!.submit, 1);
        assert.equal(trace.startEpoch, Date.UTC(2026, 11, 1, 0, 55, 38) / 1000);
    });
    it("reads the same rows written by --parsable (every line ends with a |)", () => {
        const text = readFileSync(SACCT, "utf8").replace(/\n/g, "|\n");
        const parsable = readTrace(text, SACCT);
        assert.deepEqual(parsable.jobs, trace.jobs);
        assert.equal(parsable.malformed.length, 0);
    });
});

describe("sacct: rows of other shapes", () => {
    const head = "JobID|User|Submit|Start|End|Elapsed|AllocCPUS|ReqCPUS|Timelimit|State";
    const row = (
        id: string,
        start: string,
        end: string,
        elapsed: string,
        alloc: string,
        limit: string,
        state: string,
    ) => `${id}|alice|2024-03-01T10:00:00|${start}|${end}|${elapsed}|${alloc}|4|${limit}|${state}`;
    const text = [
        head,
        row(
            "100",
            "2024-03-01T10:00:05",
            "2024-03-02T12:03:09",
            "1-02:03:04",
            "4",
            "UNLIMITED",
            "COMPLETED",
        ),
        row(
            "100.extern",
            "2024-03-01T10:00:05",
            "2024-03-02T12:03:09",
            "1-02:03:04",
            "4",
            "",
            "COMPLETED",
        ),
        row(
            "100.0",
            "2024-03-01T10:00:05",
            "2024-03-02T12:03:09",
            "1-02:03:04",
            "4",
            "",
            "COMPLETED",
        ),
        row(
            "101+1.batch",
            "2024-03-01T10:00:05",
            "2024-03-01T10:00:09",
            "00:04",
            "4",
            "",
            "COMPLETED",
        ),
        // Real rows of a first capture (a heterogeneous job cancelled while pending).
        "8+0|root|2026-12-01T00:53:58|None|2026-12-01T00:55:02|00:00:00|1|1|00:01:00|CANCELLED by 0",
        row("102", "Unknown", "Unknown", "00:00:00", "0", "01:00:00", "PENDING"),
        row("103", "2024-03-01T10:01:00", "Unknown", "00:10:00", "4", "Partition_Limit", "RUNNING"),
        row("104", "2024-03-01T10:01:00", "2024-03-01T10:02:00", "01:00", "4", "30:00", "TIMEOUT"),
        "105|alice|2024-03-01T10:00:00", // line 10: too few fields
        row("106", "yesterday", "2024-03-01T10:02:00", "01:00", "4", "", "COMPLETED"),
    ].join("\n");
    const trace = readTrace(text, "edge");

    it("reads allocations (Elapsed with days, MM:SS) and ignores steps", () => {
        assert.deepEqual(trace.jobs, [
            { id: "100", submit: 0, runtime: 93784, processors: 4, user: "alice" },
            {
                id: "104",
                submit: 0,
                runtime: 60,
                processors: 4,
                requestedTime: 1800,
                user: "alice",
            },
        ]);
    });
    it("skips jobs that never started or have not finished", () => {
        assert.deepEqual(
            trace.skipped.map((p) => [p.line, p.reason]),
            [
                [6, "never started (State CANCELLED, Start None)"],
                [7, "never started (State PENDING, Start Unknown)"],
                [8, "not finished (State RUNNING)"],
            ],
        );
    });
    it("reports malformed rows", () => {
        assert.deepEqual(
            trace.malformed.map((p) => [p.line, p.reason]),
            [
                [10, "expected 10 fields, found 3"],
                [11, 'Start is not a time: "yesterday"'],
            ],
        );
    });
    const durations: Array<[string, number]> = [
        ["00:00:04", 4],
        ["01:02:03", 3723],
        ["02:03", 123],
        ["5", 300],
        ["1-00:00:00", 86400],
        ["2-03", 183600],
        ["2-03:04", 183840],
        ["01:01.500", 62],
        ["x", NaN],
        ["1:2:3:4", NaN],
        ["-01:00", NaN],
    ];
    for (const [text, seconds] of durations) {
        it(`reads the Slurm duration ${JSON.stringify(text)}`, () =>
            assert.equal(parseSlurmDuration(text), seconds));
    }
    const times: Array<[string, number | undefined]> = [
        ["2024-03-01T10:00:00", Date.UTC(2024, 2, 1, 10) / 1000],
        ["Unknown", undefined],
        ["None", undefined],
        ["2024-13-01T10:00:00", NaN],
        ["2024-03-01 10:00:00", NaN],
    ];
    for (const [text, epoch] of times) {
        it(`reads the Slurm time ${JSON.stringify(text)}`, () =>
            assert.equal(parseSlurmTime(text), epoch));
    }
});

describe("Torque accounting records", () => {
    // Shaped like the example of the Torque Administrator Guide's "Accounting Records" section:
    // a job queued, started, deleted and exited, plus records the reader must handle.
    const text = [
        "03/04/2024 09:00:00;Q;10.head;queue=batch",
        "03/04/2024 09:00:10;S;10.head;user=bob group=users jobname=run queue=batch ctime=1709542800 qtime=1709542800 etime=1709542800 start=1709542810 exec_host=n1/0+n1/1+n2/0 Resource_List.nodes=2:ppn=2 Resource_List.walltime=01:00:00",
        "03/04/2024 09:10:10;E;10.head;user=bob group=users jobname=run queue=batch ctime=1709542800 qtime=1709542800 etime=1709542800 start=1709542810 owner=bob@head exec_host=n1/0+n1/1+n2/0 Resource_List.nodes=2:ppn=2 Resource_List.walltime=01:00:00 session=4242 end=1709543410 Exit_status=0 resources_used.cput=00:20:00 resources_used.mem=1024kb resources_used.vmem=2048kb resources_used.walltime=00:10:00",
        "03/04/2024 09:20:00;E;11.head;user=carol queue=batch qtime=1709543000 start=1709543100 end=1709543400 exec_host=n3/0-3+n4/0,2 Resource_List.walltime=24:00:00",
        "03/04/2024 09:30:00;E;12.head;user=dave queue=batch qtime=1709542900 start=1709543200 end=1709545000 Resource_List.nodes=2:ppn=8",
        "03/04/2024 09:31:00;D;13.head;requestor=erin@head",
        "03/04/2024 09:31:00;E;13.head;user=erin queue=batch qtime=1709543300 Exit_status=271",
        "03/04/2024 09:32:00;E;14.head;user=erin queue=batch qtime=1709543300 start=1709543400 end=1709543400 exec_host=n1/0 resources_used.walltime=00:00:00",
        "this is not a record",
        "03/04/2024 09:33:00;A;15.head;",
    ].join("\n");
    const trace = readTrace(text, "20240304");

    it("reads the E records as jobs, qtime relative to the first", () => {
        assert.equal(trace.format, "torque");
        assert.deepEqual(trace.jobs, [
            {
                id: "10.head",
                submit: 0,
                runtime: 600,
                processors: 3,
                requestedTime: 3600,
                user: "bob",
                partition: "batch",
            },
            {
                id: "12.head",
                submit: 100,
                runtime: 1800,
                processors: 16,
                user: "dave",
                partition: "batch",
            },
            {
                id: "11.head",
                submit: 200,
                runtime: 300,
                processors: 6,
                requestedTime: 86400,
                user: "carol",
                partition: "batch",
            },
        ]);
        assert.equal(trace.startEpoch, 1709542800);
    });
    it("skips jobs that never ran and reports lines that are not records", () => {
        assert.deepEqual(
            trace.skipped.map((p) => [p.line, p.reason]),
            [
                [7, "never started (no start time)"],
                [8, "run time 0"],
            ],
        );
        assert.deepEqual(
            trace.malformed.map((p) => p.line),
            [9],
        );
    });
    const cores: Array<[string, number]> = [
        ["n1/0", 1],
        ["n1/0+n1/1+n2/0", 3],
        ["n1/0-3+n2/0,2", 6],
        ["n1", NaN],
    ];
    for (const [execHost, n] of cores) {
        it(`counts the cores of exec_host ${execHost}`, () =>
            assert.equal(execHostCores(execHost), n));
    }
    const specs: Array<[string, number]> = [
        ["1", 1],
        ["2:ppn=8", 16],
        ["node1+node2", 2],
        ["node1:ppn=4+node2", 5],
        ["3:gpus=1:ppn=2", 6],
    ];
    for (const [spec, n] of specs) {
        it(`counts the cores of nodes=${spec}`, () => assert.equal(nodesSpecCores(spec), n));
    }
    it("reads walltimes", () => {
        assert.equal(parseTorqueDuration("00:10:00"), 600);
        assert.equal(parseTorqueDuration("100:00:00"), 360000);
        assert.equal(parseTorqueDuration("3600"), 3600);
        assert.ok(Number.isNaN(parseTorqueDuration("1h")));
    });
});

describe("format detection", () => {
    const cases: Array<[string, string, Trace["format"]]> = [
        ["SWF with a header", `; Version: 2\n${job(1, 0, 5, 1)}`, "swf"],
        ["SWF without a header", job(1, 0, 5, 1), "swf"],
        ["sacct", "\nJobID|State|Submit\n", "sacct"],
        ["Torque", "03/04/2024 09:00:00;Q;10.head;queue=batch", "torque"],
    ];
    for (const [name, text, format] of cases) {
        it(`detects ${name}`, () => assert.equal(detectFormat(text, "x"), format));
    }
    it("uses the format the caller names", () => {
        const err = refusal(() => readTrace(job(1, 0, 5, 1), "x", "torque"));
        assert.match(err.message, /not a torque trace: 1 of 1 record lines are malformed/);
    });
});

describe("speed", () => {
    it("reads a 100,000-job SWF trace in well under two seconds", () => {
        const lines = readFileSync(LUBLIN, "utf8").split("\n");
        const jobs = lines.filter((l) => l !== "" && !l.startsWith(";"));
        const big: string[] = ["; MaxJobs: 100000"];
        for (let copy = 0; copy < 10; copy++) {
            for (const line of jobs) {
                const f = line.trim().split(/\s+/);
                f[0] = String(Number(f[0]) + copy * 10000);
                f[1] = String(Number(f[1]) + copy * 8_000_000);
                big.push(f.join(" "));
            }
        }
        const started = performance.now();
        const trace = readTrace(big.join("\n"), "big.swf");
        const ms = performance.now() - started;
        assert.equal(trace.jobs.length, 100000);
        assert.ok(ms < 2000, `parsed in ${ms.toFixed(0)} ms`);
    });
});

describe("partitions: one worker pool's jobs", () => {
    const sacct = [
        "JobID|User|Partition|Submit|Start|End|Elapsed|AllocCPUS|State",
        "1|fred|batch|2026-01-01T00:00:00|2026-01-01T00:00:10|2026-01-01T00:01:10|00:01:00|4|COMPLETED",
        "2|fred|gpu|2026-01-01T00:00:05|2026-01-01T00:01:00|2026-01-01T00:02:00|00:01:00|8|COMPLETED",
        "3|anna|gpu|2026-01-01T00:00:09|2026-01-01T00:02:00|2026-01-01T00:03:00|00:01:00|8|COMPLETED",
    ].join("\n");

    it("reads sacct's Partition, and selects a partition's jobs", () => {
        const trace = readTrace(sacct, "s.txt");
        assert.deepEqual(
            trace.jobs.map((j) => [j.id, j.partition]),
            [
                ["1", "batch"],
                ["2", "gpu"],
                ["3", "gpu"],
            ],
        );
        assert.deepEqual(
            jobsOfPartition(trace, "gpu").map((j) => j.id),
            ["2", "3"],
        );
    });

    it("says which partitions the trace has when none of its jobs is in the one asked for", () => {
        assert.throws(
            () => jobsOfPartition(readTrace(sacct, "s.txt"), "bigmem"),
            (err: Error) =>
                err instanceof TraceError &&
                err.message ===
                    'no job of the trace is in partition "bigmem"; its partitions: batch (1 jobs), gpu (2 jobs)',
        );
        const noPartitions = readTrace(
            sacct.replace("|Partition", "").replace(/\|(batch|gpu)\|/g, "|"),
            "s.txt",
        );
        assert.throws(() => jobsOfPartition(noPartitions, "gpu"), /the trace names no partition/);
    });

    it("reads SWF's partition number (field 16)", () => {
        const line = "1 0 10 60 4 -1 -1 4 3600 -1 1 7 -1 -1 2 3 -1 -1";
        assert.equal(readTrace(line, "x.swf", "swf").jobs[0]!.partition, "3");
    });
});
