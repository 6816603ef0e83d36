/**
 * Runs the whole Pulumi program (`index.ts`) under `pulumi.runtime.setMocks` with a given stack
 * configuration and records every resource registration and invoke.
 *
 * Only the Pulumi engine boundary is mocked: the mock echoes inputs and fills in the outputs a
 * real provider computes (IDs, addresses, generated keys). Node caches modules, so each test file
 * runs the program once, in its own process (node:test runs one process per file).
 */
import * as pulumi from "@pulumi/pulumi";

/** One recorded resource registration. */
export interface Registration {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    custom: boolean;
}

/** One recorded invoke. */
export interface Invoke {
    token: string;
    inputs: Record<string, unknown>;
}

/** What a program run produced. */
export interface ProgramRun {
    /** Every registration, in order. */
    resources: Registration[];
    /** Every invoke. */
    invokes: Invoke[];
    /** The program module's exports (stack outputs). */
    outputs: Record<string, unknown>;
}

/** The secret marker the SDK wraps secret inputs in, under mocks. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Unwraps a secret-marked mock input value (returns other values unchanged). */
export function unwrapSecret(value: unknown): unknown {
    if (value !== null && typeof value === "object" && SECRET_SIG in value) {
        return (value as unknown as { value: unknown }).value;
    }
    return value;
}

/** True when a mock input value is marked secret. */
export function isSecretInput(value: unknown): boolean {
    return value !== null && typeof value === "object" && SECRET_SIG in value;
}

/** Resolves an Output (or plain value) to its value. */
export function unwrap<T>(value: pulumi.Output<T> | T): Promise<T> {
    return new Promise((resolve) =>
        pulumi.Output.isInstance(value) ? value.apply(resolve) : resolve(value as T),
    );
}

/** A real RSA public key (public keys are not secret), fixed so runs are comparable. */
export const MOCK_RSA_PUBLIC_PEM =
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnHY/FN2a1zXOlekzdtPq\nbjKFEEzmsIAZQUUl9MQ5O2Cs1TUukoo2Jscd66ZqL9vCiihFUVA3tgp1CLxwXm7j\nv6DzSEyoOOhEzBrP109U4ygXVQ58pld+9bDcJNyiMCwGTwN7hwf6a1iJDngPe+5Q\nz0x6uBDOgBJXhyJAIES8vrnu2OqGKrKH1LIgObhAeZ+WKp2lCE6TXlLvcvhjqC3l\nfi0y8243WOfrkHg10VaVQ/GYWE2g8dLr89tgCBsnUXBfN9ktYzVc1Xcsdbw1htu5\n0f9dDsesvv8qJJBvLP2V57fOn1wKOJhJ2en4MqDoBhmabfs5H/BAZHxE5Fin9xxw\nqwIDAQAB\n-----END PUBLIC KEY-----\n";
const MOCK_RSA_PRIVATE_PEM = "mock-rsa-private-key";

/** Fixed values the mocks compute, so tests can assert on them. */
export const MOCK_VALUES = {
    fixedIp: "10.42.0.5",
    floatingIp: "203.0.113.10",
    clusterId: "k3x9a2bq",
    existingNetworkId: "6f1c4a3e-7d1b-4c55-9a1e-2b0f3c4d5e6f",
    externalNetworkId: "0a0b0c0d-0000-4000-8000-000000000001",
    existingSubnetCidr: "10.20.0.0/22",
    flavorVcpus: 4,
    flavorRamMb: 8192,
    /** Flavors of another size than the default one above, by name. */
    flavorSizes: { "g1.large": { vcpus: 8, ram: 65536 } } as Record<
        string,
        { vcpus: number; ram: number }
    >,
};

function computedState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    const inputs = args.inputs as Record<string, unknown>;
    switch (args.type) {
        case "openstack:networking/port:Port":
            return { allFixedIps: [MOCK_VALUES.fixedIp] };
        case "openstack:networking/floatingIp:FloatingIp":
            return { address: MOCK_VALUES.floatingIp };
        case "openstack:networking/subnet:Subnet":
            return { cidr: inputs["cidr"] };
        case "random:index/randomString:RandomString":
            return { result: MOCK_VALUES.clusterId };
        case "random:index/randomPassword:RandomPassword":
            return { result: `mock-password-${args.name}` };
        case "random:index/randomBytes:RandomBytes":
            return { base64: Buffer.alloc(128, 7).toString("base64") };
        case "tls:index/privateKey:PrivateKey":
            return inputs["algorithm"] === "RSA"
                ? { publicKeyPem: MOCK_RSA_PUBLIC_PEM, privateKeyPem: MOCK_RSA_PRIVATE_PEM }
                : { publicKeyPem: "mock-ecdsa-public", privateKeyPem: "mock-ecdsa-private" };
        case "tls:index/selfSignedCert:SelfSignedCert":
            return { certPem: "-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n" };
        case "openstack:identity/applicationCredential:ApplicationCredential":
            return { secret: "mock-application-credential-secret" };
        default:
            return {};
    }
}

/**
 * Runs `index.ts` with the given config (keys without the project prefix; structured values as
 * objects) and waits until every registration has reached the mock.
 */
export async function runProgram(
    config: Record<string, unknown>,
    options: {
        secretKeys?: string[];
        stack?: string;
        env?: Record<string, string>;
        /** Receives registrations as they happen (also when the program throws). */
        record?: Registration[];
    } = {},
): Promise<ProgramRun> {
    const resources: Registration[] = options.record ?? [];
    const invokes: Invoke[] = [];
    const project = "dynamic-cluster";
    const values: Record<string, string> = {
        "openstack:authUrl": "https://keystone.example.org:5000/v3",
    };
    for (const [key, value] of Object.entries(config)) {
        const fullKey = key.includes(":") ? key : `${project}:${key}`;
        values[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
    }
    const secretKeys = (options.secretKeys ?? []).map((k) =>
        k.includes(":") ? k : `${project}:${k}`,
    );
    pulumi.runtime.setAllConfig(values, secretKeys);
    Object.assign(process.env, { SSH_AUTH_SOCK: "/tmp/test-agent.sock", ...options.env });

    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                resources.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs as Record<string, unknown>,
                    custom: args.custom ?? true,
                });
                return {
                    id: args.custom === false ? undefined : `${args.name}-id`,
                    state: { ...args.inputs, ...computedState(args) },
                };
            },
            call(args) {
                invokes.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
                if (args.token === "openstack:networking/getNetwork:getNetwork") {
                    const external = (args.inputs as { external?: boolean }).external;
                    return {
                        id: external
                            ? MOCK_VALUES.externalNetworkId
                            : MOCK_VALUES.existingNetworkId,
                    };
                }
                if (args.token === "openstack:networking/getSubnet:getSubnet") {
                    return { id: "subnet-existing-id", cidr: MOCK_VALUES.existingSubnetCidr };
                }
                if (args.token === "openstack:compute/getFlavor:getFlavor") {
                    const name = String((args.inputs as { name?: string }).name);
                    return {
                        id: `flavor-id-${name}`,
                        vcpus: MOCK_VALUES.flavorSizes[name]?.vcpus ?? MOCK_VALUES.flavorVcpus,
                        ram: MOCK_VALUES.flavorSizes[name]?.ram ?? MOCK_VALUES.flavorRamMb,
                    };
                }
                throw new Error(`Unexpected invoke ${args.token}`);
            },
        },
        project,
        options.stack ?? "test",
        false,
        "organization",
    );

    const outputs = require("../../index") as Record<string, unknown>;
    for (const value of Object.values(outputs)) {
        if (pulumi.Output.isInstance(value)) await unwrap(value);
    }
    const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
    await settings.waitForRPCs();
    return { resources, invokes, outputs };
}

/** Registrations of one type. */
export function ofType(run: ProgramRun, type: string): Registration[] {
    return run.resources.filter((r) => r.type === type);
}

/** The one registration with this logical name. */
export function named(run: ProgramRun, name: string): Registration {
    const found = run.resources.filter((r) => r.name === name);
    if (found.length !== 1)
        throw new Error(`Expected one resource named ${name}, found ${found.length}`);
    return found[0]!;
}
