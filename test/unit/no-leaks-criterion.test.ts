/**
 * The rule of the no-leaks check for test directories (test/helpers/leaks.ts): a directory is
 * this run's when it was not there at the run's start (test/run.sh lists the temporary
 * directory), or, without that list, when it was created or changed since the run started. A
 * filesystem without birth times (birthtimeMs 0, as ext4 reports through some kernels and
 * overlayfs) must not hide a leak, and nothing known of the start means every test directory
 * counts: in doubt, the check fails.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { leftByThisRun, type TmpEntry } from "../helpers/leaks";

const START = 1_800_000_000_000;
const PATTERN = /^dc-(e2e|carbon)-/;
const entry = (name: string, times: Partial<TmpEntry> = {}): TmpEntry => ({
    name,
    birthtimeMs: 0,
    ctimeMs: 0,
    mtimeMs: 0,
    ...times,
});

describe("test directories left by this run", () => {
    it("counts a directory created during the run on a filesystem without birth times", () => {
        const left = leftByThisRun(
            [entry("dc-e2e-new", { ctimeMs: START + 5000, mtimeMs: START + 5000 })],
            PATTERN,
            { sinceMs: START },
        );
        assert.deepEqual(left, ["dc-e2e-new"]);
    });

    it("leaves out directories of earlier runs, with or without birth times", () => {
        const left = leftByThisRun(
            [
                entry("dc-e2e-old", { ctimeMs: START - 60_000, mtimeMs: START - 60_000 }),
                entry("dc-carbon-old", {
                    birthtimeMs: START - 90_000,
                    ctimeMs: START - 60_000,
                    mtimeMs: START - 60_000,
                }),
            ],
            PATTERN,
            { sinceMs: START },
        );
        assert.deepEqual(left, []);
    });

    it("counts an earlier directory changed during the run (in doubt, it fails)", () => {
        const left = leftByThisRun(
            [entry("dc-carbon-x", { birthtimeMs: START - 90_000, ctimeMs: START + 1 })],
            PATTERN,
            { sinceMs: START },
        );
        assert.deepEqual(left, ["dc-carbon-x"]);
    });

    it("with the list taken at the start, counts exactly what is new, whatever the times", () => {
        const left = leftByThisRun(
            [
                entry("dc-e2e-before", { ctimeMs: START + 5000 }),
                entry("dc-e2e-after"),
                entry("dc-other-after"),
            ],
            PATTERN,
            { sinceMs: START, before: new Set(["dc-e2e-before"]) },
        );
        assert.deepEqual(left, ["dc-e2e-after"]);
    });

    it("without anything known of the start, counts every test directory", () => {
        const left = leftByThisRun(
            [entry("dc-e2e-a", { ctimeMs: 1 }), entry("dc-carbon-b"), entry("tmp-c")],
            PATTERN,
            {},
        );
        assert.deepEqual(left, ["dc-e2e-a", "dc-carbon-b"]);
    });

    it("counts a directory just made in this machine's temporary directory", () => {
        const started = Date.now() - 1000;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-e2e-criterion-"));
        try {
            const st = fs.statSync(dir);
            const name = path.basename(dir);
            const left = leftByThisRun(
                [
                    {
                        name,
                        birthtimeMs: st.birthtimeMs,
                        ctimeMs: st.ctimeMs,
                        mtimeMs: st.mtimeMs,
                    },
                ],
                PATTERN,
                { sinceMs: started },
            );
            assert.deepEqual(left, [name], `birthtimeMs here: ${st.birthtimeMs}`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
