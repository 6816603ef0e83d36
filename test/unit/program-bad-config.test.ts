/**
 * A bad configuration stops the program before any resource is registered, with one message that
 * lists every problem (the per-field messages are table-tested in config.test.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ProgramRun, type Registration, runProgram } from "../helpers/program";

describe("program: bad configuration", () => {
    it("fails with every problem listed and registers nothing", async () => {
        let run: ProgramRun | undefined;
        const registered: Registration[] = [];
        await assert.rejects(
            async () => {
                run = await runProgram(
                    {
                        allowedCidr: "0.0.0.0/0",
                        scheduler: "pbspro",
                        workers: { min: 5, max: 2 },
                    },
                    { record: registered },
                );
            },
            (err: Error) => {
                assert.equal(err.name, "ConfigError");
                assert.match(err.message, /has 5 problem\(s\)/);
                for (const key of [
                    "keyName",
                    "allowedCidr",
                    "scheduler",
                    "network",
                    "workers.min",
                ]) {
                    assert.match(err.message, new RegExp(`- ${key.replace(".", "\\.")}: `), key);
                }
                return true;
            },
        );
        assert.equal(run, undefined);
        assert.deepEqual(registered, []);
    });

    it("refuses scheduler torque, which is not supported yet, before any resource", async () => {
        let run: ProgramRun | undefined;
        const registered: Registration[] = [];
        await assert.rejects(
            async () => {
                run = await runProgram(
                    {
                        keyName: "k",
                        allowedCidr: "198.51.100.0/24",
                        externalNetwork: "ext-net",
                        scheduler: "torque",
                    },
                    { record: registered },
                );
            },
            (err: Error) => {
                assert.equal(err.name, "ConfigError");
                assert.match(err.message, /has 1 problem\(s\)/);
                assert.match(
                    err.message,
                    /- scheduler: Torque is not supported yet.*`pulumi config set scheduler slurm`.*`pulumi config rm scheduler`/s,
                );
                return true;
            },
        );
        assert.equal(run, undefined);
        assert.deepEqual(registered, []);
    });
});
