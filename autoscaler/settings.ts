/**
 * Loads the service's settings, `/etc/dynamic-cluster/service.json`: written root-only by Salt
 * (salt/dynamic_cluster/head/service.sls) from the parts the Pulumi program puts in the pillar,
 * validated here, once, against the schema both sides share (lib/serviceSettings.ts). A bad file
 * stops the service with one message that lists every problem.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { serviceSettingsSchema, type ServiceSettings } from "../lib/serviceSettings";

export type { ServiceSettings } from "../lib/serviceSettings";

/** Thrown when the settings file is missing or invalid; lists every problem. */
export class SettingsError extends Error {
    override name = "SettingsError";
}

/** Validates parsed settings. @throws SettingsError listing every bad field. */
export function parseSettings(raw: unknown, source = "settings"): ServiceSettings {
    const result = serviceSettingsSchema.safeParse(raw);
    if (!result.success) {
        const problems = result.error.issues.map(
            (issue) => `  - ${issue.path.join(".") || "(root)"}: ${issue.message}`,
        );
        throw new SettingsError(
            `${source} is not valid (it is written by Salt from the pillar; run \`pulumi up\` ` +
                `to regenerate it):\n${problems.join("\n")}`,
        );
    }
    return result.data;
}

/** Reads and validates a settings file. */
export function loadSettings(file: string): ServiceSettings {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        throw new SettingsError(`Cannot read ${file}: ${(err as Error).message}`);
    }
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (err) {
        throw new SettingsError(`${file} is not JSON: ${(err as Error).message}`);
    }
    const settings = parseSettings(raw, file);
    settings.worker_user_data ??= path.resolve(__dirname, "../cloud-init/worker.yaml");
    return settings;
}
