/**
 * Checks a rendered rules file of the head node's host firewall the way its `check_cmd` does on
 * the head (salt/dynamic_cluster/head/firewall.sls): `iptables-restore --test` for the IPv4 file,
 * `ip6tables-restore --test` for the IPv6 one (Debian's `iptables` package, nf_tables backend,
 * as on Rocky 9: the kernel checks every rule of the batch, then it is aborted). It runs as root
 * in a new, empty network namespace (`unshare --net`), so the machine's own rules and sets are
 * never read or touched, with the worker ipset created first, as firewall.sls creates it before
 * the rules file: a rule naming a set that does not exist fails.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Address family of a rules file. */
export type RulesFamily = "ipv4" | "ipv6";

/** The restore command that checks a rules file of each family. */
export const RESTORE_COMMAND: Record<RulesFamily, string> = {
    ipv4: "iptables-restore",
    ipv6: "ip6tables-restore",
};

/** What `<restore> --test` said about a rules file. */
export interface RestoreTestResult {
    /** Exit status: 0 when every rule loads. */
    status: number | null;
    /** Its standard output and error. */
    output: string;
}

/**
 * Runs `iptables-restore --test` (ipv4) or `ip6tables-restore --test` (ipv6) on `rules`, in a new
 * network namespace holding the IPv4 `hash:ip` set `workerSet` (as firewall.sls declares it).
 */
export function restoreTest(
    family: RulesFamily,
    rules: string,
    workerSet: string,
): RestoreTestResult {
    const script = 'ipset create "$1" hash:ip family inet && exec "$2" --test';
    const result = spawnSync(
        "unshare",
        ["--net", "sh", "-c", script, "sh", workerSet, RESTORE_COMMAND[family]],
        { input: rules, encoding: "utf8" },
    );
    return {
        status: result.status,
        output: `${result.stdout}${result.stderr}${result.error ? String(result.error) : ""}`,
    };
}

/** The rules the kernel holds after loading both files, as `iptables -S` / `ip6tables -S` list them. */
export interface LoadedRules {
    /** Exit status: 0 when both files loaded. */
    status: number | null;
    /** Everything the commands printed (the listings, or the error). */
    output: string;
    /** `iptables -S` (filter table) after the load. */
    ipv4: string[];
    /** `ip6tables -S` (filter table) after the load. */
    ipv6: string[];
}

/**
 * Loads both rules files for real, as the `iptables` and `ip6tables` services do on the head
 * (`iptables-restore <file>`), in a new network namespace holding the worker set, and lists what
 * the kernel then holds.
 */
export function loadRules(ipv4: string, ipv6: string, workerSet: string): LoadedRules {
    const marker = "---- ip6tables -S ----";
    const script = [
        'ipset create "$1" hash:ip family inet',
        'iptables-restore "$2"',
        'ip6tables-restore "$3"',
        "iptables -S",
        `echo '${marker}'`,
        "ip6tables -S",
    ].join(" && ");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-firewall-"));
    try {
        fs.writeFileSync(path.join(dir, "iptables"), ipv4);
        fs.writeFileSync(path.join(dir, "ip6tables"), ipv6);
        const result = spawnSync(
            "unshare",
            [
                "--net",
                "sh",
                "-c",
                script,
                "sh",
                workerSet,
                path.join(dir, "iptables"),
                path.join(dir, "ip6tables"),
            ],
            { encoding: "utf8" },
        );
        const [v4 = "", v6 = ""] = result.stdout.split(`${marker}\n`);
        const listing = (text: string) => text.split("\n").filter((line) => line !== "");
        return {
            status: result.status,
            output: `${result.stdout}${result.stderr}${result.error ? String(result.error) : ""}`,
            ipv4: listing(v4),
            ipv6: listing(v6),
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
