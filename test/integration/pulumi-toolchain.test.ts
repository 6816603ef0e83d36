/**
 * The Pulumi toolchain built from Go modules (test/env/pulumi/build.sh): the versions the npm
 * SDKs need, and providers whose schemas match the npm SDKs the program is written against. The
 * providers' token mapping is the project's own (the Pulumi provider modules are not served by
 * the Go module proxy; test/env/pulumi/README.md), so this checks it against the SDKs'
 * generated JavaScript: every mapped resource and function takes exactly the input properties
 * the SDK sends, and every resource type the program's components use is mapped.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { PROJECT_ROOT, pulumiToolchain } from "../helpers/pulumiCli";

const PROVIDERS: Array<[string, string]> = [
    ["openstack", "3.15.2"],
    ["random", "4.21.2"],
    ["tls", "5.6.1"],
];

interface PackageSchema {
    name: string;
    version: string;
    resources: Record<string, { inputProperties?: Record<string, unknown> }>;
    functions?: Record<string, { inputs?: { properties?: Record<string, unknown> } }>;
}

/** Every JavaScript file of an npm package, recursively. */
function jsFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const file = path.join(dir, entry);
        if (statSync(file).isDirectory()) return entry === "node_modules" ? [] : jsFiles(file);
        return entry.endsWith(".js") ? [file] : [];
    });
}

/** Resource tokens and their input property names, from the SDK's generated classes. */
function sdkResources(pkg: string): Map<string, Set<string>> {
    const resources = new Map<string, Set<string>>();
    for (const file of jsFiles(path.join(PROJECT_ROOT, "node_modules/@pulumi", pkg))) {
        const source = readFileSync(file, "utf8");
        const token = /__pulumiType = '([^']+)'/.exec(source)?.[1];
        if (!token) continue;
        // `resourceInputs["x"] = args ? args.x`, `= args?.x`, or the down-levelled form.
        const inputs = [
            ...source.matchAll(
                /resourceInputs\["(\w+)"\] = \(?(?:args \? args\.|args\?\.|args === null)/g,
            ),
        ].map((m) => m[1]!);
        resources.set(token, new Set(inputs));
    }
    return resources;
}

/** Function tokens and their argument names (`invoke("tok", { "a": args.a, ... })`). */
function sdkFunctions(pkg: string): Map<string, Set<string>> {
    const functions = new Map<string, Set<string>>();
    for (const file of jsFiles(path.join(PROJECT_ROOT, "node_modules/@pulumi", pkg))) {
        const source = readFileSync(file, "utf8");
        for (const match of source.matchAll(/invoke\("([^"]+)", \{([^}]*)\}/g)) {
            if (functions.has(match[1]!)) continue;
            functions.set(
                match[1]!,
                new Set([...match[2]!.matchAll(/"(\w+)": args\./g)].map((m) => m[1]!)),
            );
        }
    }
    return functions;
}

describe("the Pulumi toolchain built from Go modules", () => {
    let toolchain: string;
    let home: string;
    const schemas = new Map<string, PackageSchema>();
    const cli = (args: string[]): string =>
        execFileSync(path.join(toolchain, "bin", "pulumi"), args, {
            encoding: "utf8",
            env: {
                PATH: process.env["PATH"],
                HOME: process.env["HOME"],
                PULUMI_HOME: home,
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            },
            maxBuffer: 256 * 1024 * 1024,
        });

    before(() => {
        toolchain = pulumiToolchain();
        home = mkdtempSync(path.join(tmpdir(), "dc-pulumi-home-"));
        symlinkSync(path.join(toolchain, "home", "plugins"), path.join(home, "plugins"));
        for (const [name, version] of PROVIDERS) {
            const plugin = path.join(
                toolchain,
                "home/plugins",
                `resource-${name}-v${version}`,
                `pulumi-resource-${name}`,
            );
            schemas.set(name, JSON.parse(cli(["package", "get-schema", plugin])) as PackageSchema);
        }
    });
    after(() => rmSync(home, { recursive: true, force: true }));

    it("has the CLI at the SDK's version and the providers at the versions the SDKs ask for", () => {
        assert.equal(cli(["version"]).trim(), "v3.248.0");
        const plugins = cli(["plugin", "ls"]);
        for (const [name, version] of PROVIDERS) {
            assert.match(
                plugins,
                new RegExp(`${name}\\s+resource\\s+${version.replace(/\./g, "\\.")}`),
            );
            assert.equal(schemas.get(name)?.version, version);
        }
    });

    for (const [name] of PROVIDERS) {
        it(`${name}: every mapped resource and function takes exactly the SDK's inputs`, () => {
            const schema = schemas.get(name)!;
            const resources = sdkResources(name);
            const mismatches: string[] = [];
            for (const [token, resource] of Object.entries(schema.resources)) {
                const sdk = resources.get(token);
                if (!sdk) {
                    mismatches.push(`${token}: not in @pulumi/${name}`);
                    continue;
                }
                const provider = new Set(Object.keys(resource.inputProperties ?? {}));
                const missing = [...sdk].filter((p) => !provider.has(p));
                const extra = [...provider].filter((p) => !sdk.has(p));
                if (missing.length || extra.length) {
                    mismatches.push(
                        `${token}: SDK-only ${missing.join(",")}; provider-only ${extra.join(",")}`,
                    );
                }
            }
            const functions = sdkFunctions(name);
            for (const [token, fn] of Object.entries(schema.functions ?? {})) {
                if (token.startsWith("pulumi:providers:")) continue; // the provider's own config
                const sdk = functions.get(token);
                const provider = new Set(Object.keys(fn.inputs?.properties ?? {}));
                if (!sdk || [...sdk].sort().join() !== [...provider].sort().join()) {
                    mismatches.push(
                        `${token}: SDK ${[...(sdk ?? [])].join(",")}; provider ${[...provider].join(",")}`,
                    );
                }
            }
            assert.deepEqual(mismatches, []);
            assert.ok(Object.keys(schema.resources).length > 0);
        });
    }

    it("maps every OpenStack resource and function the program's components use", () => {
        const used = new Set<string>();
        for (const file of readdirSync(path.join(PROJECT_ROOT, "components"))) {
            const source = readFileSync(path.join(PROJECT_ROOT, "components", file), "utf8");
            for (const m of source.matchAll(
                /openstack\.(\w+)\s*\.(get\w+?)(?:Output)?\(|openstack\.(\w+)\s*\.([A-Z]\w+)\b/g,
            )) {
                used.add(m[1] ? `${m[1]}.${m[2]}` : `${m[3]}.${m[4]}`);
            }
        }
        const schema = schemas.get("openstack")!;
        const mapped = new Set(
            [...Object.keys(schema.resources), ...Object.keys(schema.functions ?? {})].map(
                (token) => {
                    const [, module, member] = /^openstack:(\w+)\/\w+:(\w+)$/.exec(token) ?? [];
                    return `${module}.${member}`;
                },
            ),
        );
        const unmapped = [...used].filter((u) => !mapped.has(u));
        assert.deepEqual(unmapped, []);
        assert.ok(
            used.has("compute.Instance") && used.has("compute.getFlavor"),
            [...used].join(" "),
        );
    });
});
