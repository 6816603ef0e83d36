/**
 * The WorkerPool provider driven through the REAL dynamic-provider gRPC host shipped in
 * `@pulumi/pulumi` (the process the Pulumi engine launches), against the real local Nova. The
 * provider is serialized exactly as the program serializes it, so this proves serialization,
 * the protobuf wire format (Struct round trips) and the init-error detail encoding. Credentials
 * reach the host only through `configure` (Pulumi's `openstack:*` config); its environment has
 * no OS_* variable.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { workerPoolProvider } from "../../components/workerPool";
import { unaryCall } from "../helpers/grpcUnary";
import {
    DEFAULT_INSTANCE_QUOTA,
    demoClient,
    demoEnv,
    instancesInUse,
    setInstanceQuota,
    testClusterId,
    testPoolInputs,
} from "../helpers/osbox";

/* eslint-disable @typescript-eslint/no-explicit-any -- generated protobuf stubs are untyped */
const grpc = require("@grpc/grpc-js") as any;
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb") as any;
const provproto = require("@pulumi/pulumi/proto/provider_pb") as any;
const statusproto = require("@pulumi/pulumi/proto/status_pb") as any;
const structproto = require("google-protobuf/google/protobuf/struct_pb") as any;

const ROOT = path.resolve(__dirname, "../..");
const URN =
    "urn:pulumi:test::dynamic-cluster::pulumi-nodejs:dynamic/dynamic-cluster:WorkerPool::dc-workers";
const S = (value: unknown): unknown => structproto.Struct.fromJavaScript(value);
const clusterId = testClusterId();
const nova = demoClient();

let host: ChildProcess;
let client: any;
let providerText: string;
let hostAddress: string;

function call<T = any>(method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) =>
        client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
    );
}

function inputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        __provider: providerText,
        ...testPoolInputs(clusterId, { count: 2, maxConcurrency: 5 }),
        ...overrides,
    };
}

before(async () => {
    const serialized = await pulumi.runtime.serializeFunction(() => workerPoolProvider, {
        allowSecrets: true,
    });
    providerText = serialized.text;
    const env = Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !key.startsWith("OS_")),
    );
    host = spawn(
        process.execPath,
        [require.resolve("@pulumi/pulumi/cmd/dynamic-provider"), "unused-engine-address"],
        {
            cwd: ROOT,
            env,
            stdio: ["ignore", "pipe", "inherit"],
        },
    );
    const [data] = (await once(host.stdout!, "data")) as [Buffer];
    hostAddress = `127.0.0.1:${data.toString().trim()}`;
    // An init error carries the whole serialized provider in its gRPC status details (trailer
    // metadata); grpc-js clients accept only 8 KiB of metadata by default (the engine's Go client
    // accepts far more), so the limit is raised as the engine's is.
    client = new provrpc.ResourceProviderClient(
        `127.0.0.1:${data.toString().trim()}`,
        grpc.credentials.createInsecure(),
        { "grpc.max_metadata_size": 16 * 1024 * 1024 },
    );
    const os = demoEnv();
    const configure = new provproto.ConfigureRequest();
    configure.setArgs(
        S({
            "openstack:authUrl": os["OS_AUTH_URL"],
            "openstack:userName": os["OS_USERNAME"],
            "openstack:password": os["OS_PASSWORD"],
            "openstack:tenantName": os["OS_PROJECT_NAME"],
            "openstack:userDomainName": os["OS_USER_DOMAIN_NAME"],
            "openstack:projectDomainName": os["OS_PROJECT_DOMAIN_NAME"],
            "openstack:region": os["OS_REGION_NAME"],
        }),
    );
    await call("configure", configure);
});

after(async () => {
    client?.close();
    if (host && host.exitCode === null) {
        const exited = once(host, "exit");
        host.kill();
        await exited;
    }
    await setInstanceQuota(DEFAULT_INSTANCE_QUOTA);
    const left = await nova.listServersByTags([`dc-cluster-${clusterId}`]);
    await Promise.all(left.map((s) => nova.deleteServer(s.id)));
    assert.equal(left.length, 0, "servers left behind");
});

describe("WorkerPool through the real dynamic-provider gRPC host", () => {
    let id: string;
    let outs: Record<string, any>;

    it("serializes the provider the way the program does", () => {
        assert.ok(providerText.includes("exports.handler"), "serialized module exports a handler");
        assert.ok(
            !/require\("js-yaml\/[^"]+"\)/.test(providerText),
            "no npm package captured by subpath",
        );
        console.log(`# serialized provider: ${providerText.length} characters`);
    });

    it("check reports property failures", async () => {
        const request = new provproto.CheckRequest();
        request.setUrn(URN);
        request.setOlds(S({}));
        request.setNews(S(inputs({ count: -1 })));
        const response = await call("check", request);
        assert.deepEqual(
            response.getFailuresList().map((f: any) => f.getProperty()),
            ["count"],
        );
    });

    it("create boots the workers and returns every output across the wire", async () => {
        const request = new provproto.CreateRequest();
        request.setUrn(URN);
        request.setProperties(S(inputs()));
        const response = await call("create", request);
        id = response.getId();
        outs = response.getProperties().toJavaScript();
        assert.equal(id, `pool-${clusterId}-compute-st`);
        assert.equal(outs["servers"].length, 2);
        assert.equal(outs["servers"][0].index, 1, "numbers survive the Struct round trip");
        assert.equal(
            typeof outs["__provider"],
            "string",
            "the host stores the provider in outputs",
        );
        assert.equal((await nova.listServersByTags([`dc-cluster-${clusterId}`])).length, 2);
    });

    it("diff says update for a count change and replace for a new cluster ID", async () => {
        const diff = async (news: Record<string, unknown>) => {
            const request = new provproto.DiffRequest();
            request.setId(id);
            request.setUrn(URN);
            request.setOlds(S(outs));
            request.setNews(S(news));
            return call("diff", request);
        };
        const none = await diff(inputs());
        assert.equal(none.getChanges(), provproto.DiffResponse.DiffChanges.DIFF_NONE);
        const grow = await diff(inputs({ count: 3 }));
        assert.equal(grow.getChanges(), provproto.DiffResponse.DiffChanges.DIFF_SOME);
        assert.deepEqual(grow.getReplacesList(), []);
        const replace = await diff(inputs({ clusterId: "other999" }));
        assert.deepEqual(replace.getReplacesList(), ["clusterId"]);
        assert.equal(replace.getDeletebeforereplace(), true);
    });

    it("update shrinks in place", async () => {
        const request = new provproto.UpdateRequest();
        request.setId(id);
        request.setUrn(URN);
        request.setOlds(S(outs));
        request.setNews(S(inputs({ count: 1 })));
        outs = (await call("update", request)).getProperties().toJavaScript();
        assert.deepEqual(
            outs["servers"].map((s: any) => [s.name, s.retiring ?? false]),
            [
                ["compute-st-1", false],
                ["compute-st-2", true],
            ],
        );
        // compute-st-2 is handed to the head-node service (tag dc-retiring), not deleted; the
        // test then deletes it as the service would once it is idle.
        const handed = (await nova.listServersByTags([`dc-cluster-${clusterId}`])).filter(
            (s) => s.name !== "compute-st-1",
        );
        assert.deepEqual(
            handed.map((s) => [s.name, s.tags.includes("dc-retiring")]),
            [["compute-st-2", true]],
        );
        await Promise.all(handed.map((s) => nova.deleteServer(s.id)));
        await nova.waitForDeleted(
            handed.map((s) => s.id),
            [`dc-cluster-${clusterId}`],
            Date.now() + 120_000,
        );
    });

    it("read refreshes from Nova (the refresh path)", async () => {
        const request = new provproto.ReadRequest();
        request.setId(id);
        request.setUrn(URN);
        request.setProperties(S(outs));
        const response = await call("read", request);
        assert.equal(response.getId(), id);
        assert.deepEqual(
            response
                .getProperties()
                .toJavaScript()
                ["servers"].map((s: any) => s.status),
            ["ACTIVE"],
        );
    });

    it("a partial failure arrives as ErrorResourceInitFailed with the booted server and Nova's reason", async () => {
        await setInstanceQuota((await instancesInUse()) + 1);
        const request = new provproto.UpdateRequest();
        request.setId(id);
        request.setUrn(URN);
        request.setOlds(S(outs));
        request.setNews(S(inputs({ count: 3, maxConcurrency: 1 })));
        let detail: any;
        try {
            // gRPC's C core: the answer's trailers hold the whole serialized provider, more
            // than Node's HTTP/2 stack accepts in one header (see test/helpers/grpcUnary.ts).
            const answer = await unaryCall(
                hostAddress,
                "/pulumirpc.ResourceProvider/Update",
                request.serializeBinary(),
            );
            assert.equal(answer.code, 2, "gRPC UNKNOWN");
            const bin = answer.trailers["grpc-status-details-bin"];
            assert.ok(bin, "the init error's details trailer arrived");
            const status = statusproto.Status.deserializeBinary(bin);
            detail = provproto.ErrorResourceInitFailed.deserializeBinary(
                status.getDetailsList()[0].getValue(),
            );
        } finally {
            await setInstanceQuota(DEFAULT_INSTANCE_QUOTA);
        }
        assert.ok(detail, "update must fail with an init error");
        assert.equal(detail.getId(), id);
        const props = detail.getProperties().toJavaScript();
        assert.deepEqual(
            props["servers"].map((s: any) => s.index),
            [1, 2],
        );
        assert.equal(
            props["__provider"],
            providerText,
            "the provider code stays in state for a later delete",
        );
        assert.equal(detail.getReasonsList().length, 1);
        assert.match(detail.getReasonsList()[0], /compute-st-3: create failed: 403 Quota exceeded/);
        outs = props;
    });

    it("delete removes every server", async () => {
        const request = new provproto.DeleteRequest();
        request.setId(id);
        request.setUrn(URN);
        request.setProperties(S(outs));
        await call("delete", request);
        assert.deepEqual(await nova.listServersByTags([`dc-cluster-${clusterId}`]), []);
    });
});
