/**
 * The one cloud-init user-data renderer, used by the Pulumi program (head node, WorkerPool) and
 * by the head-node service (burst workers).
 *
 * Templates live in `cloud-init/*.yaml`: cloud-config documents whose string values may hold
 * `{{ name }}` placeholders. The template is parsed first and placeholders are replaced inside
 * the parsed strings, so a value can never change the YAML structure; values are further limited
 * to a shell-safe character set so they cannot change the meaning of a `runcmd` line either.
 *
 * js-yaml is required inside the function, not at the top: this module is serialized by value
 * into the WorkerPool dynamic provider, and a captured package with an `exports` map cannot be
 * serialized (pulumi/pulumi#7119).
 */
import type * as JsYaml from "js-yaml";

/** Nova's limit on the base64 form of `user_data` (schema `maxLength: 65535`). */
export const NOVA_USER_DATA_LIMIT = 65_535;

/** Characters a placeholder value may contain: enough for IPs, names, IDs and fingerprints. */
const SAFE_VALUE = /^[A-Za-z0-9._:@/+=,-]*$/;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Values substituted into a template, by placeholder name. */
export type TemplateVars = Readonly<Record<string, string>>;

/** Thrown when a template or its values are wrong; the message says which and how to fix it. */
export class UserDataError extends Error {
    override name = "UserDataError";
}

function substitute(text: string, vars: TemplateVars, used: Set<string>): string {
    return text.replace(PLACEHOLDER, (_match, name: string) => {
        const value = vars[name];
        if (value === undefined) {
            throw new UserDataError(
                `The user-data template uses {{ ${name} }} but no value was given for it.`,
            );
        }
        used.add(name);
        return value;
    });
}

function substituteDeep(node: unknown, vars: TemplateVars, used: Set<string>): unknown {
    if (typeof node === "string") return substitute(node, vars, used);
    if (Array.isArray(node)) return node.map((item) => substituteDeep(item, vars, used));
    if (node !== null && typeof node === "object") {
        return Object.fromEntries(
            Object.entries(node).map(([key, value]) => [key, substituteDeep(value, vars, used)]),
        );
    }
    return node;
}

/**
 * Renders a cloud-config template into the raw user-data text (`#cloud-config` + YAML).
 *
 * @param template the template text, which must start with `#cloud-config`.
 * @param vars one value for each placeholder; every value must be used and shell-safe.
 * @throws UserDataError on a missing header, bad YAML, a missing, unused or unsafe value.
 */
export function renderUserData(template: string, vars: TemplateVars): string {
    if (!template.startsWith("#cloud-config\n")) {
        throw new UserDataError('A user-data template must begin with the line "#cloud-config".');
    }
    for (const [name, value] of Object.entries(vars)) {
        if (!SAFE_VALUE.test(value)) {
            throw new UserDataError(
                `The value for {{ ${name} }} (${JSON.stringify(value)}) has characters that are ` +
                    `not allowed in user-data; use letters, digits and . _ : @ / + = , - only.`,
            );
        }
    }
    const yaml = require("js-yaml") as typeof JsYaml;
    let parsed: unknown;
    try {
        parsed = yaml.load(template);
    } catch (err) {
        throw new UserDataError(`The user-data template is not valid YAML: ${String(err)}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new UserDataError("The user-data template must be a YAML mapping.");
    }
    const used = new Set<string>();
    const rendered = substituteDeep(parsed, vars, used);
    const unused = Object.keys(vars).filter((name) => !used.has(name));
    if (unused.length > 0) {
        throw new UserDataError(
            `The user-data template has no placeholder for: ${unused.join(", ")}.`,
        );
    }
    return `#cloud-config\n${yaml.dump(rendered, { lineWidth: -1, noRefs: true })}`;
}

/**
 * Base64-encodes raw user-data for Nova, refusing anything over Nova's limit.
 *
 * @throws UserDataError when the encoded form is longer than {@link NOVA_USER_DATA_LIMIT}.
 */
export function encodeUserData(raw: string): string {
    const encoded = Buffer.from(raw, "utf8").toString("base64");
    if (encoded.length > NOVA_USER_DATA_LIMIT) {
        throw new UserDataError(
            `The user-data is ${encoded.length} bytes in base64, over Nova's limit of ` +
                `${NOVA_USER_DATA_LIMIT}; shorten the template or move files into the Salt tree.`,
        );
    }
    return encoded;
}

/** What a worker's user-data carries. */
export interface WorkerUserDataVars {
    /** The worker's Salt minion ID (see `lib/minionId.ts`). */
    minionId: string;
    /** The scheduler node name, also the host name. */
    nodeName: string;
    /** Address of the Salt master (the head node's cluster-network address). */
    masterAddress: string;
    /** Fingerprint of the master's public key, as Salt's `master_finger` expects it. */
    masterFinger: string;
}

/** Renders `cloud-init/worker.yaml` (given as text) for one worker. */
export function renderWorkerUserData(template: string, vars: WorkerUserDataVars): string {
    return renderUserData(template, {
        minion_id: vars.minionId,
        node_name: vars.nodeName,
        master_address: vars.masterAddress,
        master_finger: vars.masterFinger,
    });
}
