/**
 * Runs the program under mocks with the config in `DC_TEST_CONFIG` (JSON) and prints the
 * registrations as JSON on stdout. Lets one test compare two configurations, each in its own
 * process (the program can be imported once per process).
 */
import { runProgram } from "./program";

async function main(): Promise<void> {
    const config = JSON.parse(process.env["DC_TEST_CONFIG"] ?? "{}") as Record<string, unknown>;
    const run = await runProgram(config);
    process.stdout.write(JSON.stringify(run.resources));
}

main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
});
