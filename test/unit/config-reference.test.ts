/**
 * `Pulumi.yaml`, the loader's key table and the README's configuration reference agree.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { checkPulumiYaml, withReference } from "../../scripts/config-reference";

const ROOT = path.resolve(__dirname, "../..");

describe("configuration reference", () => {
    it("Pulumi.yaml declares every key the program reads, with the same type, default and description", () => {
        assert.deepEqual(checkPulumiYaml(readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")), []);
    });

    it("detects a drifted declaration", () => {
        const drifted = readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8").replace(
            "default: slurm",
            "default: torque",
        );
        assert.deepEqual(checkPulumiYaml(drifted), [
            'scheduler: default is "torque" in Pulumi.yaml, "slurm" in the program.',
        ]);
    });

    it("the README's reference is up to date (run `npm run docs:config`)", () => {
        const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.equal(withReference(readme), readme);
    });
});
