/**
 * WorkerPool against the real local Nova (fake virt driver): wall time for the provider to
 * create 1, 10 and 50 workers to ACTIVE and to delete them, against a raw-HTTP baseline run in
 * the same process right after: the same number of bare `POST /servers` (same body, same
 * concurrency of 10) polled until ACTIVE with bare `GET /servers/detail`, then bare `DELETE`s
 * polled until gone — no client logic (bench/lib/rawNova.ts). The provider's overhead is the
 * ratio. Needs the local OpenStack's `OS_*` environment
 * (`eval "$(bash test/env/openstack/up.sh)"`). `npx tsx bench/workerpool-nova.ts [sizes...]`
 */
import { workerPoolProvider, type WorkerPoolOutputs } from "../components/workerPool";
import { demoClient, demoEnv, testClusterId, testPoolInputs } from "../test/helpers/osbox";
import { rawCreateDelete } from "./lib/rawNova";

const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const SIZES = sizes.length ? sizes : [1, 10, 50];
const provider = workerPoolProvider as Required<typeof workerPoolProvider>;
const nova = demoClient();

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function providerRun(count: number): Promise<{ create: number; del: number }> {
    const clusterId = testClusterId();
    const inputs = testPoolInputs(clusterId, {
        count,
        namePrefix: "bench",
        bootTimeoutSeconds: 600,
    });
    let start = process.hrtime.bigint();
    const created = await provider.create(inputs);
    const create = ms(start);
    const outs = created.outs as WorkerPoolOutputs;
    if (outs.servers.length !== count) throw new Error(`created ${outs.servers.length}/${count}`);
    start = process.hrtime.bigint();
    await provider.delete(created.id, outs);
    return { create, del: ms(start) };
}

async function main(): Promise<void> {
    Object.assign(process.env, demoEnv());
    await provider.configure({ config: { get: () => undefined } } as never);
    console.log(
        "workers | provider create | raw create | ratio | provider delete | raw delete | ratio",
    );
    for (const count of SIZES) {
        const p = await providerRun(count);
        const r = await rawCreateDelete(count, 10);
        console.log(
            [
                String(count).padStart(7),
                `${(p.create / 1000).toFixed(1)} s`.padStart(15),
                `${(r.create / 1000).toFixed(1)} s`.padStart(10),
                `${(p.create / r.create).toFixed(2)}x`.padStart(5),
                `${(p.del / 1000).toFixed(1)} s`.padStart(15),
                `${(r.del / 1000).toFixed(1)} s`.padStart(10),
                `${(p.del / r.del).toFixed(2)}x`.padStart(5),
            ].join(" | "),
        );
    }
    const left = await nova.listServersByTags(["dc"]);
    console.log(`servers left with tag dc after the benchmark: ${left.length}`);
}

main().catch((err: unknown) => {
    console.error(`workerpool-nova failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
});
