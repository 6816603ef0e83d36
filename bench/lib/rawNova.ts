/**
 * The benchmarks' baseline for work on Nova: the same number of workers booted and deleted with
 * bare HTTP and nothing else. One token, fixed URLs, `count` bare `POST /servers` (the body a
 * worker gets: flavor m1.tiny, image tiny, network dc-test-net, group dc-test-sg, rendered
 * user-data, tags and metadata) with at most `concurrency` in flight, polled until ACTIVE with
 * bare `GET /servers/detail`, then bare `DELETE`s polled until gone. No retries, no catalog
 * look-ups per call, no client logic: what any code that boots these servers cannot avoid.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { mapBounded } from "../../lib/concurrency";
import { newMinionId } from "../../lib/minionId";
import { saltPemFinger } from "../../lib/saltKey";
import { clusterTag, workerMetadata, workerTags } from "../../lib/tags";
import { encodeUserData, renderWorkerUserData } from "../../lib/userData";
import { demoClient, testClusterId } from "../../test/helpers/osbox";

const ROOT = path.resolve(__dirname, "../..");

/** Wall times of a bare create-to-ACTIVE and delete-to-gone of `count` servers, in ms. */
export interface RawTimes {
    create: number;
    /** Of `create`: from the first create call to the answer of the last. */
    createCalls: number;
    del: number;
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/** Boots `count` servers with bare HTTP, waits until ACTIVE, deletes them, waits until gone. */
export async function rawCreateDelete(count: number, concurrency = 10): Promise<RawTimes> {
    const nova = demoClient();
    const template = readFileSync(path.join(ROOT, "cloud-init/worker.yaml"), "utf8");
    const finger = saltPemFinger("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
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
    const deadline = Date.now() + 600_000;
    const waitUntil = async (
        what: string,
        done: (servers: Array<{ status: string }>) => boolean,
    ) => {
        for (;;) {
            const servers = await list();
            if (done(servers)) return;
            if (servers.some((s) => s.status === "ERROR"))
                throw new Error(`a server went to ERROR`);
            if (Date.now() > deadline) throw new Error(`raw baseline: ${what} took over 600 s`);
            await new Promise((resolve) => setTimeout(resolve, 1000));
        }
    };
    try {
        let start = process.hrtime.bigint();
        const ids = await mapBounded(bodies, concurrency, async (body) => {
            const r = await fetch(`${compute}/servers`, { method: "POST", headers, body });
            if (!r.ok) throw new Error(`POST /servers: ${r.status} ${await r.text()}`);
            return ((await r.json()) as { server: { id: string } }).server.id;
        });
        const createCalls = ms(start);
        await waitUntil(
            `${count} servers ACTIVE`,
            (servers) => servers.length === count && servers.every((s) => s.status === "ACTIVE"),
        );
        const create = ms(start);
        start = process.hrtime.bigint();
        await mapBounded(ids, concurrency, (id) =>
            fetch(`${compute}/servers/${id}`, { method: "DELETE", headers }),
        );
        await waitUntil(`${count} servers deleted`, (servers) => servers.length === 0);
        return { create, createCalls, del: ms(start) };
    } catch (err) {
        // Whatever this baseline booted goes, whatever failed.
        const left = await nova.listServersByTags([clusterTag(clusterId)]);
        for (const server of left) await nova.deleteServer(server.id).catch(() => undefined);
        throw err;
    }
}
