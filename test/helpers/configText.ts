/**
 * Edits `Key=value` lines of configuration text (slurm.conf, carbon.conf) for the tests that run
 * real daemons from generated files: host-specific settings are swapped, every other generated
 * line is kept as it is.
 */

/** How keys are written and which may be missing. */
export interface ConfigEdit {
    /** Between key and value when writing (`=` for slurm.conf, ` = ` for carbon.conf). */
    separator?: string;
    /** Keys that may be missing (then appended); `"all"` for any. The others must exist. */
    optional?: readonly string[] | "all";
    /** Names the file in the error for a missing key. */
    file?: string;
}

/** Sets each `key` to its value in `text`; throws when a key that must exist is missing. */
export function setConfigKeys(
    text: string,
    values: Record<string, string>,
    { separator = "=", optional = [], file = "the generated file" }: ConfigEdit = {},
): string {
    let out = text.endsWith("\n") ? text : `${text}\n`;
    for (const [key, value] of Object.entries(values)) {
        const line = new RegExp(`^${key}\\s*=.*$`, "m");
        if (line.test(out)) out = out.replace(line, `${key}${separator}${value}`);
        else if (optional === "all" || optional.includes(key))
            out += `${key}${separator}${value}\n`;
        else throw new Error(`${file} has no ${key}`);
    }
    return out;
}
