/**
 * Every shell script of the project (set-up, CI, deploy, test environment, benchmarks) passes
 * `shellcheck`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(__dirname, "../..");

function shellFiles(dir: string): string[] {
    const absolute = path.join(ROOT, dir);
    return readdirSync(absolute).flatMap((entry) => {
        const child = path.join(dir, entry);
        if (statSync(path.join(ROOT, child)).isDirectory()) return shellFiles(child);
        return entry.endsWith(".sh") ? [child] : [];
    });
}

describe("shell scripts", () => {
    const files = [
        ".ci/run",
        ...shellFiles("scripts"),
        ...shellFiles("test"),
        ...shellFiles("bench"),
    ];
    it("are found", () => {
        assert.ok(
            files.includes("test/run.sh") &&
                files.includes("scripts/deploy.sh") &&
                files.includes("bench/run.sh"),
            files.join(" "),
        );
    });
    for (const file of files) {
        it(`${file} passes shellcheck`, () => {
            const result = spawnSync("shellcheck", ["-x", file], { cwd: ROOT, encoding: "utf8" });
            assert.equal(result.status, 0, result.stdout + result.stderr);
        });
    }
});
