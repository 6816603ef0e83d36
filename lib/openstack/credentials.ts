/**
 * Where OpenStack credentials come from, resolved the way the OpenStack tools do it: explicit
 * settings first (e.g. Pulumi's `openstack:*` config), else `clouds.yaml` when `OS_CLOUD` is set
 * (searched in `./`, `~/.config/openstack/`, `/etc/openstack/`), else the `OS_*` environment.
 * Password and application-credential auth are supported.
 *
 * TLS trust is resolved the same way, each setting on its own, first found wins: the CA bundle
 * from Pulumi's `openstack:cacertFile`, else `OS_CACERT`, else the cloud's `cacert` in
 * clouds.yaml; verification off from `openstack:insecure`, else `OS_INSECURE`, else the cloud's
 * `verify: false` (or `insecure: true`) in clouds.yaml. That is the order of the Pulumi
 * OpenStack provider too (terraform-provider-openstack: explicit `cacert_file`/`insecure`, their
 * `OS_CACERT`/`OS_INSECURE` defaults, then clouds.yaml through gophercloud/utils), so the
 * program's resources and this client trust the same CA. The bundle replaces the system's
 * trust store, as in openstacksdk and the provider, so it must hold every CA the cloud's
 * endpoints need. A bundle that is missing, unreadable or not PEM is an
 * {@link OpenStackConfigError} naming the file and the setting; the PEM text (not only the
 * path) is kept, so the program can ship it to the head node.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { OpenStackConfigError } from "./errors";

/** Password authentication, scoped to a project. */
export interface PasswordAuth {
    kind: "password";
    username: string;
    password: string;
    userDomainName: string;
    projectName?: string;
    projectId?: string;
    projectDomainName: string;
}

/** Application-credential authentication (the scope comes from the credential). */
export interface ApplicationCredentialAuth {
    kind: "application-credential";
    id: string;
    secret: string;
}

/** How the client checks the cloud's TLS certificates. */
export interface CloudTls {
    /**
     * PEM text of the CA bundle to trust instead of the system's store, when one is set (the
     * default: the system's / Node's store).
     */
    caPem?: string;
    /** Where the bundle came from, for messages, e.g. `OS_CACERT (/etc/ssl/cloud-ca.pem)`. */
    caSource?: string;
    /** Certificates are not checked at all (allowed, but callers warn). */
    insecure: boolean;
    /** The setting that turned checking off, for the warning. */
    insecureSource?: string;
}

/** Everything needed to talk to a cloud. */
export interface CloudCredentials {
    /** Keystone v3 URL, e.g. `https://keystone.example.org:5000/v3`. */
    authUrl: string;
    /** Region, or undefined for the catalog's only one. */
    region?: string;
    /** Endpoint interface in the catalog. */
    interface: "public" | "internal" | "admin";
    /** How to authenticate. */
    auth: PasswordAuth | ApplicationCredentialAuth;
    /** TLS trust; absent means the system's CA store, verification on. */
    tls?: CloudTls;
}

/** Raw settings as the OpenStack tools name them (environment keys without `OS_`). */
type Settings = Record<string, string | undefined>;

function fromSettings(s: Settings, source: string): CloudCredentials {
    const authUrl = s["AUTH_URL"];
    if (!authUrl) {
        throw new OpenStackConfigError(
            `No OpenStack auth URL in ${source}: source your project's openrc file (it sets ` +
                "OS_AUTH_URL), or set OS_CLOUD to a cloud in clouds.yaml.",
        );
    }
    const iface = (s["INTERFACE"] ?? "public").replace(/URL$/i, "").toLowerCase();
    if (iface !== "public" && iface !== "internal" && iface !== "admin") {
        throw new OpenStackConfigError(
            `OS_INTERFACE "${iface}" in ${source} must be public, internal or admin.`,
        );
    }
    const base = {
        authUrl: authUrl.replace(/\/+$/, "").replace(/(\/v3)?$/, "/v3"),
        region: s["REGION_NAME"] || undefined,
        interface: iface as CloudCredentials["interface"],
    };
    const appId = s["APPLICATION_CREDENTIAL_ID"];
    const appSecret = s["APPLICATION_CREDENTIAL_SECRET"];
    if (appId || appSecret) {
        if (!appId || !appSecret) {
            throw new OpenStackConfigError(
                `${source} has only half of an application credential: set both ` +
                    "OS_APPLICATION_CREDENTIAL_ID and OS_APPLICATION_CREDENTIAL_SECRET.",
            );
        }
        return { ...base, auth: { kind: "application-credential", id: appId, secret: appSecret } };
    }
    const username = s["USERNAME"];
    const password = s["PASSWORD"];
    const projectName = s["PROJECT_NAME"] ?? s["TENANT_NAME"];
    const projectId = s["PROJECT_ID"] ?? s["TENANT_ID"];
    const missing = [
        !username && "OS_USERNAME",
        !password && "OS_PASSWORD",
        !projectName && !projectId && "OS_PROJECT_NAME (or OS_PROJECT_ID)",
    ].filter(Boolean);
    if (missing.length > 0) {
        throw new OpenStackConfigError(
            `${source} lacks ${missing.join(", ")}: source your project's openrc file, or use an ` +
                "application credential (OS_APPLICATION_CREDENTIAL_ID/_SECRET).",
        );
    }
    return {
        ...base,
        auth: {
            kind: "password",
            username: username!,
            password: password!,
            userDomainName: s["USER_DOMAIN_NAME"] ?? s["DOMAIN_NAME"] ?? "Default",
            projectName,
            projectId,
            projectDomainName: s["PROJECT_DOMAIN_NAME"] ?? s["DOMAIN_NAME"] ?? "Default",
        },
    };
}

/** Default `clouds.yaml` search path, in the OpenStack tools' order. */
export function cloudsYamlPaths(cwd = process.cwd(), home = homedir()): string[] {
    return [
        path.join(cwd, "clouds.yaml"),
        path.join(home, ".config", "openstack", "clouds.yaml"),
        "/etc/openstack/clouds.yaml",
    ];
}

/** One cloud's entry of a `clouds.yaml` text. */
function cloudEntryOf(text: string, cloud: string, file: string): Record<string, unknown> {
    // Required here, not at the top: see errors.ts (serialized into the dynamic provider).
    const yaml = require("js-yaml") as { load(text: string): unknown };
    const doc = yaml.load(text) as { clouds?: Record<string, Record<string, unknown>> } | null;
    const entry = doc?.clouds?.[cloud];
    if (!entry) {
        const known = Object.keys(doc?.clouds ?? {}).join(", ") || "none";
        throw new OpenStackConfigError(
            `Cloud "${cloud}" (OS_CLOUD) is not in ${file}; it has: ${known}.`,
        );
    }
    return entry;
}

/** Reads one cloud of a `clouds.yaml` text into tool-style settings. */
export function settingsFromCloudsYaml(text: string, cloud: string, file: string): Settings {
    const entry = cloudEntryOf(text, cloud, file);
    const auth = (entry["auth"] ?? {}) as Record<string, unknown>;
    const str = (v: unknown): string | undefined =>
        v === undefined || v === null ? undefined : String(v);
    return {
        AUTH_URL: str(auth["auth_url"]),
        USERNAME: str(auth["username"]),
        PASSWORD: str(auth["password"]),
        PROJECT_NAME: str(auth["project_name"]),
        PROJECT_ID: str(auth["project_id"]),
        USER_DOMAIN_NAME: str(auth["user_domain_name"]),
        PROJECT_DOMAIN_NAME: str(auth["project_domain_name"]),
        DOMAIN_NAME: str(auth["domain_name"]),
        APPLICATION_CREDENTIAL_ID: str(auth["application_credential_id"]),
        APPLICATION_CREDENTIAL_SECRET: str(auth["application_credential_secret"]),
        REGION_NAME: str(entry["region_name"]),
        INTERFACE: str(entry["interface"]),
    };
}

/** A TLS setting's raw value and the name of the setting, for messages. */
interface SourcedValue {
    value: string;
    setting: string;
}

/** The raw TLS settings of one source. */
interface TlsCandidates {
    cacert?: SourcedValue;
    insecure?: SourcedValue;
}

/**
 * The TLS settings of one cloud in clouds.yaml, as openstacksdk reads them: the top-level
 * `cacert` (a path) and `verify` (false = do not check), or the older `insecure`.
 */
function tlsOfCloudEntry(
    entry: Record<string, unknown>,
    cloud: string,
    file: string,
): TlsCandidates {
    const where = `of cloud "${cloud}" in ${file}`;
    const out: TlsCandidates = {};
    const cacert = entry["cacert"];
    if (cacert !== undefined && cacert !== null && cacert !== "") {
        if (typeof cacert !== "string") {
            throw new OpenStackConfigError(
                `\`cacert\` ${where} must be the path of a PEM file, not ${JSON.stringify(cacert)}.`,
            );
        }
        out.cacert = { value: cacert, setting: `\`cacert\` ${where}` };
    }
    const verify = entry["verify"];
    if (verify !== undefined && verify !== null) {
        const on = typeof verify === "boolean" ? verify : parseBoolean(String(verify));
        if (on === undefined) {
            throw new OpenStackConfigError(
                `\`verify\` ${where} must be true or false, not ${JSON.stringify(verify)} ` +
                    "(a CA bundle goes in `cacert`).",
            );
        }
        out.insecure = { value: String(!on), setting: `\`verify\` ${where}` };
    } else if (entry["insecure"] !== undefined && entry["insecure"] !== null) {
        out.insecure = { value: String(entry["insecure"]), setting: `\`insecure\` ${where}` };
    }
    return out;
}

/** Reads a boolean setting the way the OpenStack tools and Go's strconv do; else undefined. */
function parseBoolean(value: string): boolean | undefined {
    const v = value.trim().toLowerCase();
    if (["1", "t", "true", "yes", "on"].includes(v)) return true;
    if (["0", "f", "false", "no", "off", ""].includes(v)) return false;
    return undefined;
}

/**
 * Reads and checks a CA bundle: a path to a PEM file (a leading `~/` is the home directory), or
 * the PEM text itself (the Pulumi provider's `cacertFile` takes either).
 *
 * @param value the setting's value.
 * @param setting the setting's name, for messages (e.g. `OS_CACERT`).
 * @returns the PEM text and a description of where it came from.
 * @throws OpenStackConfigError naming the file and the setting when the file is missing,
 *   unreadable or holds no PEM certificate, or a certificate in it does not parse.
 */
export function readCaBundle(
    value: string,
    setting: string,
    home: string = homedir(),
): { pem: string; source: string } {
    const inline = value.trimStart().startsWith("-----BEGIN");
    const file = inline ? "" : value.replace(/^~(?=\/|$)/, home);
    const what = inline ? `The CA bundle in ${setting}` : `The CA bundle ${file} (from ${setting})`;
    let pem = value;
    if (!inline) {
        if (!existsSync(file)) {
            throw new OpenStackConfigError(
                `${what} does not exist: set ${setting} to the PEM file of the cloud's CA.`,
            );
        }
        try {
            pem = readFileSync(file, "utf8");
        } catch (err) {
            const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
            throw new OpenStackConfigError(`${what} cannot be read (${reason}).`);
        }
    }
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) {
        throw new OpenStackConfigError(
            `${what} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" block): ` +
                `set ${setting} to the CA's certificate in PEM format (a DER file converts with ` +
                "`openssl x509 -inform der -in ca.der -out ca.pem`).",
        );
    }
    blocks.forEach((block, i) => {
        try {
            new X509Certificate(block);
        } catch (err) {
            throw new OpenStackConfigError(
                `${what}: certificate ${i + 1} of ${blocks.length} does not parse ` +
                    `(${(err as Error).message}).`,
            );
        }
    });
    return { pem: blocks.join("\n") + "\n", source: inline ? setting : `${setting} (${file})` };
}

/**
 * TLS trust from the sources in order (first found wins, for each setting on its own).
 * @throws OpenStackConfigError for a bad bundle or a value that is not a boolean.
 */
function tlsFrom(sources: readonly TlsCandidates[], home?: string): CloudTls {
    const cacert = sources.find((s) => s.cacert)?.cacert;
    const insecure = sources.find((s) => s.insecure)?.insecure;
    const tls: CloudTls = { insecure: false };
    if (insecure) {
        const on = parseBoolean(insecure.value);
        if (on === undefined) {
            throw new OpenStackConfigError(
                `${insecure.setting} must be true or false, not ${JSON.stringify(insecure.value)}.`,
            );
        }
        if (on) {
            tls.insecure = true;
            tls.insecureSource = insecure.setting;
        }
    }
    if (cacert) {
        const bundle = readCaBundle(cacert.value, cacert.setting, home);
        tls.caPem = bundle.pem;
        tls.caSource = bundle.source;
    }
    return tls;
}

/** The explicit (Pulumi config) and environment TLS settings. */
function tlsCandidates(
    explicit: Settings,
    env: Record<string, string | undefined>,
): TlsCandidates[] {
    const pick = (value: string | undefined, setting: string): SourcedValue | undefined =>
        value !== undefined && value !== "" ? { value, setting } : undefined;
    return [
        {
            cacert: pick(explicit["CACERT"], "openstack:cacertFile"),
            insecure: pick(explicit["INSECURE"], "openstack:insecure"),
        },
        {
            cacert: pick(env["OS_CACERT"], "OS_CACERT"),
            insecure: pick(env["OS_INSECURE"], "OS_INSECURE"),
        },
    ];
}

/** The clouds.yaml entry of `OS_CLOUD`, or undefined when OS_CLOUD is not set. */
function cloudOfEnv(
    env: Record<string, string | undefined>,
    paths: string[],
): { cloud: string; file: string; text: string } | undefined {
    const cloud = env["OS_CLOUD"];
    if (!cloud) return undefined;
    const file = paths.find((p) => existsSync(p));
    if (!file) {
        throw new OpenStackConfigError(
            `OS_CLOUD is "${cloud}" but no clouds.yaml was found in ${paths.join(", ")}.`,
        );
    }
    return { cloud, file, text: readFileSync(file, "utf8") };
}

/**
 * Resolves TLS trust alone (no credentials needed): explicit settings (`CACERT`, `INSECURE`:
 * Pulumi's `openstack:cacertFile` / `openstack:insecure`), else `OS_CACERT` / `OS_INSECURE`,
 * else the `OS_CLOUD` cloud's `cacert` / `verify` in clouds.yaml.
 *
 * @throws OpenStackConfigError for a missing, unreadable or non-PEM bundle (naming the file and
 *   the setting) or a setting that is not a boolean.
 */
export function resolveTls(
    explicit: Settings = {},
    env: Record<string, string | undefined> = process.env,
    paths: string[] = cloudsYamlPaths(),
    home: string = homedir(),
): CloudTls {
    const found = cloudOfEnv(env, paths);
    const sources = tlsCandidates(explicit, env);
    if (found) {
        const entry = cloudEntryOf(found.text, found.cloud, found.file);
        sources.push(tlsOfCloudEntry(entry, found.cloud, found.file));
    }
    return tlsFrom(sources, home);
}

/**
 * Resolves credentials.
 *
 * @param explicit settings that win over everything (tool-style keys without `OS_`; `CACERT`
 *   and `INSECURE` are Pulumi's `openstack:cacertFile` and `openstack:insecure`).
 * @param env the environment (default `process.env`).
 * @param paths where to look for `clouds.yaml`.
 * @throws OpenStackConfigError saying what is missing and how to provide it.
 */
export function resolveCredentials(
    explicit: Settings = {},
    env: Record<string, string | undefined> = process.env,
    paths: string[] = cloudsYamlPaths(),
): CloudCredentials {
    const fromEnv: Settings = {};
    for (const [key, value] of Object.entries(env)) {
        if (key.startsWith("OS_") && value !== undefined && value !== "")
            fromEnv[key.slice(3)] = value;
    }
    let base: Settings = fromEnv;
    let source = "the OS_* environment";
    const tlsSources = tlsCandidates(explicit, env);
    const found = cloudOfEnv(env, paths);
    if (found) {
        // The environment still overrides clouds.yaml, as in the OpenStack tools.
        base = { ...settingsFromCloudsYaml(found.text, found.cloud, found.file), ...fromEnv };
        source = `${found.file} (cloud "${found.cloud}")`;
        const entry = cloudEntryOf(found.text, found.cloud, found.file);
        tlsSources.push(tlsOfCloudEntry(entry, found.cloud, found.file));
    }
    const definedExplicit = Object.fromEntries(
        Object.entries(explicit).filter(([, v]) => v !== undefined && v !== ""),
    );
    if (Object.keys(definedExplicit).length > 0)
        source = `the Pulumi openstack:* config and ${source}`;
    const credentials = fromSettings({ ...base, ...definedExplicit }, source);
    return { ...credentials, tls: tlsFrom(tlsSources) };
}
