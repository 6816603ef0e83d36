/**
 * Where OpenStack credentials come from, resolved the way the OpenStack tools do it: explicit
 * settings first (e.g. Pulumi's `openstack:*` config), else `clouds.yaml` when `OS_CLOUD` is set
 * (searched in `./`, `~/.config/openstack/`, `/etc/openstack/`), else the `OS_*` environment.
 * Password and application-credential auth are supported.
 */
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

/** Reads one cloud of a `clouds.yaml` text into tool-style settings. */
export function settingsFromCloudsYaml(text: string, cloud: string, file: string): Settings {
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

/**
 * Resolves credentials.
 *
 * @param explicit settings that win over everything (tool-style keys without `OS_`).
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
    const cloud = env["OS_CLOUD"];
    if (cloud) {
        const file = paths.find((p) => existsSync(p));
        if (!file) {
            throw new OpenStackConfigError(
                `OS_CLOUD is "${cloud}" but no clouds.yaml was found in ${paths.join(", ")}.`,
            );
        }
        // The environment still overrides clouds.yaml, as in the OpenStack tools.
        base = { ...settingsFromCloudsYaml(readFileSync(file, "utf8"), cloud, file), ...fromEnv };
        source = `${file} (cloud "${cloud}")`;
    }
    const definedExplicit = Object.fromEntries(
        Object.entries(explicit).filter(([, v]) => v !== undefined && v !== ""),
    );
    if (Object.keys(definedExplicit).length > 0)
        source = `the Pulumi openstack:* config and ${source}`;
    return fromSettings({ ...base, ...definedExplicit }, source);
}
