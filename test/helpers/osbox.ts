/**
 * Access to the tests' real local OpenStack (test/env/openstack): the demo user's credentials
 * from the environment (the test runner sources them) or from `$OSBOX_DIR/openrc`, and an admin
 * client for what only admins may do (quotas, flavors).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { SERVICE_ACCESS_RULES } from "../../components/accessRules";
import type { WorkerPoolInputs } from "../../components/workerPool";
import { ComputeClient, resolveCredentials, Session } from "../../lib/openstack";
import { saltPemFinger } from "../../lib/saltKey";

/** State directory of the local OpenStack. */
export const OSBOX_DIR = process.env["OSBOX_DIR"] ?? "/var/tmp/dc-osbox";

/** Parses `export KEY=value` lines. */
export function parseOpenrc(text: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const match = /^export (OS_[A-Z_]+)=(.*)$/.exec(line.trim());
        if (match) env[match[1]!] = match[2]!.replace(/^["']|["']$/g, "");
    }
    return env;
}

/** The demo user's OS_* environment. */
export function demoEnv(): Record<string, string> {
    if (process.env["OS_AUTH_URL"]) {
        return Object.fromEntries(
            Object.entries(process.env).filter(([k, v]) => k.startsWith("OS_") && v !== undefined),
        ) as Record<string, string>;
    }
    return parseOpenrc(readFileSync(`${OSBOX_DIR}/openrc`, "utf8"));
}

/** A compute client as the demo user. */
export function demoClient(): ComputeClient {
    return new ComputeClient(new Session(resolveCredentials({}, demoEnv(), [])), 500);
}

/** A session as admin (project admin; admin role also in project demo). */
export function adminSession(): Session {
    return new Session(
        resolveCredentials({}, parseOpenrc(readFileSync(`${OSBOX_DIR}/admin-openrc`, "utf8")), []),
    );
}

/** Sets project demo's compute quota for instances (force: may be below usage). */
export async function setInstanceQuota(instances: number): Promise<void> {
    const projectId = await demoClient().session.projectId();
    await adminSession().request("compute", {
        method: "PUT",
        path: `/os-quota-sets/${projectId}`,
        body: { quota_set: { instances, force: true } },
    });
}

/** Instances project demo uses now. */
export async function instancesInUse(): Promise<number> {
    const response = await demoClient().session.request("compute", {
        method: "GET",
        path: "/limits",
    });
    return (response.json as { limits: { absolute: { totalInstancesUsed: number } } }).limits
        .absolute.totalInstancesUsed;
}

/** The quota the environment's set-up gives project demo (restored after quota tests). */
export const DEFAULT_INSTANCE_QUOTA = 200;

/** Creates (once) a flavor no host can satisfy, so Nova's scheduler puts servers in ERROR. */
export async function impossibleFlavor(): Promise<string> {
    const admin = adminSession();
    const name = "dc-test-impossible";
    const list = await admin.request("compute", {
        method: "GET",
        path: "/flavors/detail?is_public=None",
    });
    const existing = (list.json as { flavors: Array<{ id: string; name: string }> }).flavors.find(
        (f) => f.name === name,
    );
    if (existing) return name;
    await admin.request("compute", {
        method: "POST",
        path: "/flavors",
        body: {
            flavor: {
                name,
                ram: 64,
                vcpus: 1,
                disk: 100_000_000,
                "os-flavor-access:is_public": true,
            },
        },
    });
    return name;
}

/** Random lower-case ID for a test's cluster tag. */
export function testClusterId(): string {
    return `t${Math.random().toString(36).slice(2, 10).padEnd(8, "0")}`;
}

/** WorkerPool inputs on the local OpenStack's test network, flavor and image. */
export function testPoolInputs(
    clusterId: string,
    overrides: Partial<WorkerPoolInputs> = {},
): WorkerPoolInputs {
    return {
        count: 3,
        flavor: "m1.tiny",
        image: "tiny",
        network: "dc-test-net",
        keyName: "",
        securityGroups: ["dc-test-sg"],
        availabilityZone: "",
        namePrefix: "compute-st",
        clusterId,
        masterAddress: "192.0.2.10",
        masterFinger: saltPemFinger("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        userDataTemplate: readFileSync(
            path.resolve(__dirname, "../../cloud-init/worker.yaml"),
            "utf8",
        ),
        bootTimeoutSeconds: 120,
        drainTimeoutSeconds: 60,
        maxConcurrency: 10,
        ...overrides,
    };
}

/** An application credential of the demo user, with the token that created it. */
export interface AppCredential {
    id: string;
    secret: string;
    userId: string;
    token: string;
}

/** Creates an application credential of the demo user restricted to the service's access rules. */
export async function createAppCredential(name: string): Promise<AppCredential> {
    const env = demoEnv();
    const authUrl = env["OS_AUTH_URL"]!.replace(/\/+$/, "");
    const login = await fetch(`${authUrl}/auth/tokens`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
            auth: {
                identity: {
                    methods: ["password"],
                    password: {
                        user: {
                            name: env["OS_USERNAME"],
                            domain: { name: env["OS_USER_DOMAIN_NAME"] ?? "Default" },
                            password: env["OS_PASSWORD"],
                        },
                    },
                },
                scope: {
                    project: {
                        name: env["OS_PROJECT_NAME"],
                        domain: { name: env["OS_PROJECT_DOMAIN_NAME"] ?? "Default" },
                    },
                },
            },
        }),
    });
    if (!login.ok) throw new Error(`keystone login: ${login.status} ${await login.text()}`);
    const token = login.headers.get("x-subject-token")!;
    const userId = ((await login.json()) as { token: { user: { id: string } } }).token.user.id;
    const created = await fetch(`${authUrl}/users/${userId}/application_credentials`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Auth-Token": token },
        body: JSON.stringify({
            application_credential: {
                name,
                description: "Dynamic Cluster service test",
                access_rules: SERVICE_ACCESS_RULES,
            },
        }),
    });
    if (!created.ok)
        throw new Error(`application credential: ${created.status} ${await created.text()}`);
    const body = (await created.json()) as {
        application_credential: { id: string; secret: string };
    };
    return { ...body.application_credential, userId, token };
}

/** Deletes a credential made by {@link createAppCredential}. */
export async function deleteAppCredential(cred: AppCredential): Promise<void> {
    const authUrl = demoEnv()["OS_AUTH_URL"]!.replace(/\/+$/, "");
    await fetch(`${authUrl}/users/${cred.userId}/application_credentials/${cred.id}`, {
        method: "DELETE",
        headers: { "X-Auth-Token": cred.token },
    });
}
