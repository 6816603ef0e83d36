/**
 * The metrics path against a real carbon-cache (Debian's graphite-carbon) run from the
 * carbon.conf and storage-schemas.conf the Salt tree generates (test/helpers/carbon.ts):
 * carbon accepts the generated files and listens on the loopback only; the service's carbon
 * client (autoscaler/infra/carbon.ts) lands values under the cluster's prefix with their own
 * timestamps; while carbon is down the client keeps a bounded queue, counts what it drops, and
 * delivers the rest when carbon is back. The whole path from a worker's stats event through the
 * reactor and the service is in autoscaler-e2e.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { CarbonClient, metricComponent } from "../../autoscaler/infra/carbon";
import { CarbonCache } from "../helpers/carbon";
import { configFrom, renderHighstate } from "../helpers/salt";
import { waitFor } from "../helpers/waitFor";

describe("metrics in a real carbon-cache", () => {
    let carbon: CarbonCache;
    const clients: CarbonClient[] = [];
    const client = (prefix: string, maxQueue?: number) => {
        const c = new CarbonClient("127.0.0.1", carbon.port, prefix, maxQueue);
        clients.push(c);
        return c;
    };

    before(async () => {
        const head = renderHighstate(
            configFrom({
                keyName: "hpc-key",
                allowedCidr: "203.0.113.0/24",
                network: "private",
                workers: { min: 0, max: 4 },
            }),
            "head",
        );
        assert.deepEqual(head.errors, []);
        carbon = await CarbonCache.start(
            fs.mkdtempSync(path.join(os.tmpdir(), "dc-carbon-")),
            head.files,
        );
    });
    after(async () => {
        await Promise.all(clients.map((c) => c.close()));
        await carbon?.stop();
    });

    it("runs from the generated carbon.conf and listens on the loopback only, on the line receiver and the cache-query port (no pickle receiver)", async () => {
        const addresses = await carbon.listening();
        assert.deepEqual(
            [...addresses].sort(),
            [`127.0.0.1:${carbon.port}`, `127.0.0.1:${carbon.queryPort}`].sort(),
            `carbon listens: ${addresses.join(", ")}`,
        );
    });

    it("stores what the client sends under the cluster's prefix, at the time it was measured", async () => {
        const prefix = `dynamic_cluster.${metricComponent("dev cluster.1")}`;
        assert.equal(prefix, "dynamic_cluster.dev_cluster_1");
        const measuredAt = Date.now() - 120_000; // two minutes ago, inside the finest retention
        client(prefix).send("workers.ready_idle", 7, measuredAt);
        const series = await carbon.waitForValue(`${prefix}.workers.ready_idle`, 7);
        const [at] = series.find(([, v]) => v === 7)!;
        const step = series[1]![0] - series[0]![0];
        assert.equal(step, 10, "the finest retention of the generated schema (10s:1d)");
        assert.equal(at, Math.floor(measuredAt / 1000 / step) * step, "stored at its own time");
    });

    it("keeps a bounded queue while carbon is down, counts the drops, and delivers the rest when it is back", async () => {
        await carbon.pause();
        const c = client("dc_down", 3);
        for (let i = 0; i < 5; i++) c.send(`queued.m${i}`, i + 1);
        // The connection attempt fails (carbon is down); nothing blocks and the queue is capped.
        assert.equal(c.dropped, 2, "the two oldest lines were dropped");
        await carbon.resume();
        // The next value reconnects and flushes the queue; queuing it drops one more.
        c.send("queued.trigger", 42);
        assert.equal(c.dropped, 3);
        await carbon.waitForValue("dc_down.queued.trigger", 42);
        for (const i of [3, 4]) await carbon.waitForValue(`dc_down.queued.m${i}`, i + 1);
        for (const i of [0, 1, 2]) {
            assert.equal(
                await carbon.fetch(`dc_down.queued.m${i}`),
                undefined,
                `m${i} was dropped, not written`,
            );
        }
    });

    it("reconnects when carbon restarts under an open connection", async () => {
        const c = client("dc_restart");
        c.send("before", 1);
        await carbon.waitForValue("dc_restart.before", 1);
        await carbon.pause();
        await carbon.resume();
        // Values sent after the restart land (at most the first write into the dead
        // connection may be lost; the client must not stay broken).
        await waitFor(
            "a value sent after carbon restarted to land",
            async () => {
                c.send("after", 2);
                const series = await carbon.fetch("dc_restart.after");
                return series?.some(([, v]) => v === 2) ? true : undefined;
            },
            { timeoutMs: 30_000, intervalMs: 500 },
        );
    });
});
