/**
 * A hung dependency does not hide behind the OpenStack client's retries: the observation step of
 * a round has a budget (`tuning.round_budget`). When Nova's listing never answers, the round
 * gives up at the budget (the call goes on in the background, its result unused), `status()`
 * names the hung call under `errors.nova`, and the age of the last complete observation is
 * reported (`observationAgeSeconds`, the `observation_age` metric) and, once it is older than
 * 2 x reconcile_interval + round_budget, listed as `errors.observation` with one warning event;
 * when Nova answers again both errors clear and an info event says so.
 *
 * The real service core with stand-in Nova, scheduler, Salt keys and metrics; an injected clock
 * for the ages, and a small real budget (50 ms) for the timeout.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import type { WorkerCloud } from "../../autoscaler/cloud";
import type { CarbonClient } from "../../autoscaler/infra/carbon";
import { DynamicClusterService, type Logger } from "../../autoscaler/service";
import { unitSettings } from "../helpers/serviceSettings";
import { noKeys, standInScheduler } from "../helpers/standIns";
import { StateStore } from "../../autoscaler/store";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-unit-round-budget-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const settings = unitSettings({
    stateDir: tmp,
    burst: 1,
    // Stale after 2 x 10 + 0.05 = 20.05 s without a complete observation.
    tuning: { reconcile_interval: 10, round_budget: 0.05 },
});

/** Runs one round, failing if it takes longer than `ms` of real time. */
async function roundWithin(service: DynamicClusterService, ms: number): Promise<number> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
    try {
        const outcome = await Promise.race([service.round().then(() => "done" as const), late]);
        assert.equal(outcome, "done", `the round did not end within ${ms} ms`);
    } finally {
        clearTimeout(timer);
    }
    return Date.now() - started;
}

describe("a round's observation budget", () => {
    it("ends a round whose Nova listing hangs, names the call, and reports the observation's age", async () => {
        const noop = async () => undefined;
        const scheduler = standInScheduler();
        let hung = false;
        let listings = 0;
        const cloud = {
            list: () => {
                listings++;
                return hung ? new Promise(() => undefined) : Promise.resolve([]);
            },
            newMinionId: () => "unused",
            launch: noop,
            delete: noop,
        } as unknown as WorkerCloud;
        const keys = noKeys();
        const sent: Array<[string, number]> = [];
        const metrics = {
            send: (name: string, value: number) => sent.push([name, value]),
            dropped: 0,
        } as unknown as CarbonClient;
        const logged: Array<{ level: string; msg: string }> = [];
        const log: Logger = {
            info: (_obj, msg) => logged.push({ level: "info", msg }),
            warn: (_obj, msg) => logged.push({ level: "warn", msg }),
            error: (_obj, msg) => logged.push({ level: "error", msg }),
            debug: () => undefined,
        };
        let clock = 1_800_000_000_000;
        const service = new DynamicClusterService({
            settings,
            cloud,
            scheduler,
            keys,
            store: new StateStore(path.join(tmp, "state")),
            log,
            metrics,
            now: () => clock,
        });
        const lastAge = () => sent.filter(([name]) => name === "observation_age").at(-1)?.[1];

        await roundWithin(service, 2000);
        const observedAt = clock;
        assert.equal(service.status().observedAt, observedAt);
        assert.deepEqual(service.status().errors, {});

        // Nova hangs: the round gives up at the budget and says which call hung.
        hung = true;
        clock += 5_000;
        const ms = await roundWithin(service, 2000);
        assert.ok(ms < 1000, `the round took ${ms} ms with a 50 ms budget`);
        let status = service.status();
        assert.match(status.errors["nova"]?.message ?? "", /^Nova did not answer within 0\.05 s/);
        assert.equal(status.observedAt, observedAt, "the stale call's observation is not used");
        assert.equal(status.observationAgeSeconds, 5);
        assert.equal(status.errors["observation"], undefined, "not stale yet (limit 20.05 s)");
        assert.equal(lastAge(), 5);
        assert.ok(
            logged.some((l) => l.level === "error" && /nova failed/.test(l.msg)),
            `no log line for the hung call: ${JSON.stringify(logged)}`,
        );

        // Still hung 30 s later: the observation is stale, said once.
        clock += 30_000;
        await roundWithin(service, 2000);
        clock += 10_000;
        await roundWithin(service, 2000);
        status = service.status();
        assert.equal(status.observationAgeSeconds, 45);
        assert.equal(lastAge(), 45);
        assert.match(status.errors["observation"]?.message ?? "", /45 s/);
        assert.match(status.errors["nova"]?.message ?? "", /Nova did not answer/);
        const staleWarnings = logged.filter((l) => l.level === "warn" && /stale/.test(l.msg));
        assert.equal(staleWarnings.length, 1, JSON.stringify(logged));

        // Nova answers again: both errors clear, and an info line says the observation is current.
        hung = false;
        clock += 1_000;
        await roundWithin(service, 2000);
        status = service.status();
        assert.equal(status.observedAt, clock);
        assert.equal(status.observationAgeSeconds, 0);
        assert.equal(lastAge(), 0);
        assert.deepEqual(status.errors, {});
        assert.ok(
            logged.some((l) => l.level === "info" && /observation is current again/.test(l.msg)),
            JSON.stringify(logged),
        );
        assert.equal(listings, 5, "one listing per round");
        await service.stop();
    });
});
