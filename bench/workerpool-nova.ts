/**
 * WorkerPool against the real local Nova (fake virt driver): wall time for the provider to
 * create 1, 10 and 50 workers to ACTIVE and to delete them, against a raw-HTTP baseline: the same
 * number of bare `POST /servers` (same body, same concurrency of 10) polled until ACTIVE with bare
 * `GET /servers/detail`, then bare `DELETE`s polled until gone, with no client logic
 * (bench/lib/rawNova.ts). The provider's overhead is the ratio.
 *
 * The local Nova's own throughput dominates both (50 boots take minutes on 2 cores) and drifts
 * with what it did just before (deletes it is still cleaning up, a warm scheduler), so one run of
 * each in a fixed order measures the order more than the client. Each size runs in ABBA order
 * (provider, raw, raw, provider) and the ratio is of the sums; the create column is split into
 * the create calls (first call to last answer: the client's own share) and the wait for ACTIVE
 * (Nova's). Needs the local OpenStack's `OS_*` environment
 * (`eval "$(bash test/env/openstack/up.sh)"`). `npx tsx bench/workerpool-nova.ts [sizes...]`
 */
import { subscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { workerPoolProvider, type WorkerPoolOutputs } from "../components/workerPool";
import { demoClient, demoEnv, testClusterId, testPoolInputs } from "../test/helpers/osbox";
import { rawCreateDelete, type RawTimes } from "./lib/rawNova";

const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const SIZES = sizes.length ? sizes : [1, 10, 50];
const provider = workerPoolProvider as Required<typeof workerPoolProvider>;
const nova = demoClient();

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/** The provider's create calls, seen on node:http's diagnostics channels: first start, last answer. */
const createCalls = { first: 0n, last: 0n, count: 0 };
const isCreate = (req: ClientRequest) => req.method === "POST" && /\/servers$/.test(req.path);
subscribe("http.client.request.start", (message) => {
    const { request } = message as { request: ClientRequest };
    if (!isCreate(request)) return;
    createCalls.count++;
    if (createCalls.first === 0n) createCalls.first = process.hrtime.bigint();
});
subscribe("http.client.response.finish", (message) => {
    const { request } = message as { request: ClientRequest };
    if (isCreate(request)) createCalls.last = process.hrtime.bigint();
});

async function providerRun(count: number): Promise<RawTimes> {
    const clusterId = testClusterId();
    const inputs = testPoolInputs(clusterId, {
        count,
        namePrefix: "bench",
        bootTimeoutSeconds: 600,
    });
    Object.assign(createCalls, { first: 0n, last: 0n, count: 0 });
    let start = process.hrtime.bigint();
    const created = await provider.create(inputs);
    const create = ms(start);
    const outs = created.outs as WorkerPoolOutputs;
    if (outs.servers.length !== count) throw new Error(`created ${outs.servers.length}/${count}`);
    if (createCalls.count !== count) throw new Error(`saw ${createCalls.count} create calls`);
    const calls = Number(createCalls.last - createCalls.first) / 1e6;
    start = process.hrtime.bigint();
    await provider.delete(created.id, outs);
    return { create, createCalls: calls, del: ms(start) };
}

const sum = (runs: RawTimes[], key: keyof RawTimes) => runs.reduce((t, r) => t + r[key], 0);
const sec = (msTotal: number, n: number) => `${(msTotal / n / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
    Object.assign(process.env, demoEnv());
    await provider.configure({ config: { get: () => undefined } } as never);
    console.log(
        "workers | create: provider | raw | ratio | create calls: provider | raw | ratio | delete: provider | raw | ratio   (means of 2 runs each, ABBA)",
    );
    for (const count of SIZES) {
        const ours: RawTimes[] = [];
        const raw: RawTimes[] = [];
        ours.push(await providerRun(count));
        raw.push(await rawCreateDelete(count, 10));
        raw.push(await rawCreateDelete(count, 10));
        ours.push(await providerRun(count));
        const cells: string[] = [String(count).padStart(7)];
        for (const key of ["create", "createCalls", "del"] as const) {
            const a = sum(ours, key);
            const b = sum(raw, key);
            cells.push(
                sec(a, ours.length).padStart(key === "create" ? 16 : 23),
                sec(b, raw.length).padStart(6),
                `${(a / b).toFixed(2)}x`.padStart(6),
            );
        }
        console.log(cells.join(" | "));
    }
    const left = await nova.listServersByTags(["dc"]);
    console.log(`servers left with tag dc after the benchmark: ${left.length}`);
}

main().catch((err: unknown) => {
    console.error(`workerpool-nova failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
});
