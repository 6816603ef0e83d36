/**
 * The stats collector Salt's scheduler runs on workers (salt/_modules/dc_stats.py), run with
 * Debian's Python: its parsers on recorded /proc text with hand-checked figures, two real
 * collections on this machine (the second has rates, the first cannot), and the text its
 * signature covers. Signing under real Salt, verified by the service's own verifier:
 * test/integration/salt-stats-signature.test.ts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { COLLECTOR_METRICS, collectorMetrics } from "../../autoscaler/salt/stats";
import { SYSTEM_PYTHON } from "../helpers/salt";

type Metrics = Record<string, number>;
const out = JSON.parse(
    execFileSync(SYSTEM_PYTHON, [path.resolve(__dirname, "../salt/stats_check.py")], {
        encoding: "utf8",
    }),
) as {
    cpu: Record<string, number>;
    memory: Record<string, number>;
    net: Record<string, { rx_bytes: number; tx_bytes: number }>;
    first: Metrics;
    second: Metrics;
    names: string[];
    live_first: { time: number; metrics: Metrics };
    live_second: { time: number; metrics: Metrics };
    /** The CPU counters each live collection saved (the second's shares are between them). */
    live_cpu: [Record<string, number>, Record<string, number>];
    bad_stat: string | null;
    canonical_metrics: Metrics;
    canonical: string;
    unsigned: { time: number; metrics: Metrics; signature?: string };
    unsigned_warnings: string[];
};

describe("dc_stats collector", () => {
    it("parses /proc/stat, /proc/meminfo and /proc/net/dev (loopback left out)", () => {
        assert.deepEqual(out.cpu, {
            user: 100,
            nice: 5,
            system: 50,
            idle: 800,
            iowait: 20,
            irq: 1,
            softirq: 2,
            steal: 3,
        });
        assert.equal(out.memory.MemTotal, 8000000 * 1024);
        assert.equal(out.memory.HugePages_Total, 0);
        assert.deepEqual(out.net, { eth0: { rx_bytes: 5000, tx_bytes: 7000 } });
        assert.match(String(out.bad_stat), /no aggregate 'cpu' line/);
    });

    it("computes gauges from one sample and no rates without a previous one", () => {
        assert.deepEqual(out.first, {
            "load.1m": 0.5,
            "load.5m": 0.25,
            "load.15m": 0.125,
            "memory.total_bytes": 8192000000,
            "memory.used_bytes": 2048000000,
            "memory.used_percent": 25,
            "disk.root.total_bytes": 1000,
            "disk.root.used_percent": 75,
            "disk.data.total_bytes": 0,
            "disk.data.used_percent": 0,
        });
    });

    it("computes CPU shares and network rates against the previous sample; a counter reset gives no rate", () => {
        // CPU deltas: user 60, system 20, idle 100, iowait 10 -> total 190.
        assert.equal(out.second["cpu.user_percent"], 31.58);
        assert.equal(out.second["cpu.system_percent"], 10.53);
        assert.equal(out.second["cpu.iowait_percent"], 5.26);
        assert.equal(out.second["cpu.busy_percent"], 42.11);
        assert.equal(out.second["net.eth0.rx_bytes_per_second"], 1000);
        assert.equal(out.second["net.eth0.tx_bytes_per_second"], undefined);
    });

    it("sends only names the service writes (autoscaler/salt/stats.ts COLLECTOR_METRICS), recorded and live", () => {
        for (const metrics of [
            out.first,
            out.second,
            out.live_first.metrics,
            out.live_second.metrics,
        ]) {
            for (const name of Object.keys(metrics)) {
                assert.ok(
                    COLLECTOR_METRICS.some((pattern) => pattern.test(name)),
                    `${name} is not one of the service's collector names`,
                );
            }
        }
        const { refused } = collectorMetrics(out.second, new Set());
        assert.equal(refused, 0);
    });

    it("names metrics safely for Graphite", () => {
        assert.deepEqual(out.names, ["root", "data", "eth0_100", "ib0_1"]);
    });

    it("collects real figures on this machine", () => {
        const first = out.live_first.metrics;
        const second = out.live_second.metrics;
        assert.ok(first["memory.total_bytes"]! > 0);
        assert.ok(first["disk.root.total_bytes"]! > 0);
        assert.equal(first["cpu.busy_percent"], undefined);
        // The shares the second collection must report, from the counters both collections saved
        // (the check script lets the counters move between them, so there is a share to report).
        const [before, after] = out.live_cpu;
        const fields = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"];
        const delta = (field: string) => after[field]! - before[field]!;
        const total = fields.reduce((sum, field) => sum + delta(field), 0);
        assert.ok(total > 0, "the CPU counters moved between the collections");
        const expected: Record<string, number> = {
            "cpu.busy_percent": (100 * (total - delta("idle") - delta("iowait"))) / total,
            "cpu.user_percent": (100 * delta("user")) / total,
            "cpu.system_percent": (100 * delta("system")) / total,
            "cpu.iowait_percent": (100 * delta("iowait")) / total,
            "cpu.steal_percent": (100 * delta("steal")) / total,
        };
        for (const [name, value] of Object.entries(expected)) {
            const reported = second[name];
            assert.equal(typeof reported, "number", `${name} is reported`);
            // Reported rounded to two decimals.
            assert.ok(
                Math.abs(reported! - value) <= 0.005 + 1e-9,
                `${name} ${reported} != ${value}`,
            );
        }
        assert.ok(Object.keys(second).length >= Object.keys(first).length);
    });

    it("signs sorted, compact JSON of its own ID, time and the metrics JSON can carry", () => {
        assert.deepEqual(out.canonical_metrics, {
            "memory.used_percent": 25,
            "load.1m": 0.5,
            "net.eth0.rx_bytes_per_second": 1e-5,
            B: 1,
            a: 2,
        });
        assert.equal(
            out.canonical,
            '{"id":"dc-\\u00e9t\\u00e9\\u007f","metrics":{"B":1,"a":2,"load.1m":0.5,' +
                '"memory.used_percent":25.0,"net.eth0.rx_bytes_per_second":1e-05},"time":1795566503}',
        );
        // The service reads the figures from this text as it is (autoscaler/salt/stats.ts).
        assert.deepEqual(JSON.parse(out.canonical), {
            id: "dc-\u00e9t\u00e9\u007f",
            metrics: out.canonical_metrics,
            time: 1795566503,
        });
    });

    it("sends the figures unsigned, with a warning, when the minion's key cannot be read", () => {
        assert.deepEqual(
            Object.keys(out.unsigned).sort(),
            ["metrics", "time"],
            "no signed, no signature",
        );
        assert.equal(out.unsigned_warnings.length, 1);
        assert.match(
            out.unsigned_warnings[0]!,
            /^dc_stats: cannot sign the stats with \S+missing\.pem \(FileNotFoundError: /,
        );
    });
});
