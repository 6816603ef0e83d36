/**
 * WorkerPool against the real local Nova (fake virt driver): wall time for the provider to
 * create 1, 10 and 50 workers to ACTIVE and to delete them, against a raw-HTTP baseline run in
 * the same process right after: the same number of bare `POST /servers` (same body, same
 * concurrency of 10) polled until ACTIVE with bare `GET /servers/detail`, then bare `DELETE`s
 * polled until gone — no client logic (no retries, no catalog, no user-data rendering). The
 * provider's overhead is the ratio. Needs the local OpenStack's `OS_*` environment
 * (`eval "$(bash test/env/openstack/up.sh)"`). `npx tsx bench/workerpool-nova.ts [sizes...]`
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { workerPoolProvider, type WorkerPoolOutputs } from "../components/workerPool";
import { mapBounded } from "../lib/concurrency";
import { newMinionId } from "../lib/minionId";
import { saltPemFinger } from "../lib/saltKey";
import { clusterTag, workerMetadata, workerTags } from "../lib/tags";
import { encodeUserData, renderWorkerUserData } from "../lib/userData";
import { demoClient, demoEnv, testClusterId, testPoolInputs } from "../test/helpers/osbox";

const ROOT = path.resolve(__dirname, "..");
const sizes = process.argv.slice(2).map(Number).filter(Boolean);
const SIZES = sizes.length ? sizes : [1, 10, 50];
const provider = workerPoolProvider as Required<typeof workerPoolProvider>;
const template = readFileSync(path.join(ROOT, "cloud-init/worker.yaml"), "utf8");
const finger = saltPemFinger("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
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

/** The same work with bare HTTP: one token, fixed URLs, no retries, no logic. */
async function rawRun(count: number): Promise<{ create: number; del: number }> {
    const session = nova.session;
    const token = (await session.getToken()).value;
    const compute = await session.endpoint("compute");
    const [flavorId, imageId, networkId] = await Promise.all([
        nova.flavorId("m1.tiny"),
        nova.imageId("tiny"),
        nova.networkId("dc-test-net"),
    ]);
    const clusterId = testClusterId();
    const headers = {
        "X-Auth-Token": token,
        "Content-Type": "application/json",
        "OpenStack-API-Version": "compute 2.52",
    };
    const bodies = Array.from({ length: count }, (_, i) => {
        const name = `raw-${i + 1}`;
        const minionId = newMinionId(name);
        return JSON.stringify({
            server: {
                name,
                flavorRef: flavorId,
                imageRef: imageId,
                networks: [{ uuid: networkId }],
                security_groups: [{ name: "dc-test-sg" }],
                user_data: encodeUserData(
                    renderWorkerUserData(template, {
                        minionId,
                        nodeName: name,
                        masterAddress: "192.0.2.10",
                        masterFinger: finger,
                    }),
                ),
                metadata: workerMetadata(minionId, name),
                tags: workerTags(clusterId, "static"),
            },
        });
    });
    const list = async () => {
        const r = await fetch(`${compute}/servers/detail?tags=${clusterTag(clusterId)}`, {
            headers,
        });
        return ((await r.json()) as { servers: Array<{ id: string; status: string }> }).servers;
    };
    let start = process.hrtime.bigint();
    const ids = await mapBounded(bodies, 10, async (body) => {
        const r = await fetch(`${compute}/servers`, { method: "POST", headers, body });
        return ((await r.json()) as { server: { id: string } }).server.id;
    });
    for (;;) {
        const servers = await list();
        if (servers.length === count && servers.every((s) => s.status === "ACTIVE")) break;
        await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const create = ms(start);
    start = process.hrtime.bigint();
    await mapBounded(ids, 10, (id) =>
        fetch(`${compute}/servers/${id}`, { method: "DELETE", headers }),
    );
    while ((await list()).length > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
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
        const r = await rawRun(count);
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

void main();
