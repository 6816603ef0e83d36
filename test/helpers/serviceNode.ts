/**
 * How the tests and benchmarks start the service process the way the head node's unit does
 * (salt/dynamic_cluster/files/head/dynamic-cluster.service.jinja): the Node.js options of
 * `service.node_options` in the Salt tree's defaults.yaml, and the head node's Node.js
 * (`DC_NODE_LTS`, installed by test/env/node-lts.sh and exported by test/run.sh) when it is
 * there, else this process's Node.js.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";

const DEFAULTS = path.resolve(__dirname, "../../salt/dynamic_cluster/defaults.yaml");

/** `service.node_options` of the Salt tree's defaults. */
export function serviceNodeOptions(): string[] {
    const doc = load(readFileSync(DEFAULTS, "utf8")) as {
        dynamic_cluster?: { service?: { node_options?: unknown } };
    };
    const options = doc.dynamic_cluster?.service?.node_options;
    if (!Array.isArray(options) || !options.every((o) => typeof o === "string")) {
        throw new Error(
            `${DEFAULTS}: dynamic_cluster.service.node_options must be a list of strings`,
        );
    }
    return options as string[];
}

/** The Node.js binary the service runs on in tests: the head node's when installed. */
export function serviceNodeBinary(): string {
    return process.env["DC_NODE_LTS"] || process.execPath;
}

/** The command line that starts the bundled service with `settingsFile`. */
export function serviceCommand(bundleDir: string, settingsFile: string): [string, string[]] {
    return [
        serviceNodeBinary(),
        [
            ...serviceNodeOptions(),
            path.join(bundleDir, "autoscaler", "main.js"),
            "--settings",
            settingsFile,
        ],
    ];
}
