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

/** What a script in the namespace printed, and its status. */
interface NamespaceRun {
    status: number | null;
    stdout: string;
    output: string;
}

/**
 * Runs `script` (bash) in a new network namespace of its own, after creating the worker set and
 * loading both rules files there for real, as the `iptables` and `ip6tables` services do on the
 * head (`iptables-restore <file>`); `args` are the script's `$1`... The namespace ends with it.
 */
function withRulesLoaded(
    ipv4: string,
    ipv6: string,
    workerSet: string,
    script: string,
    args: string[] = [],
): NamespaceRun {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-firewall-"));
    try {
        fs.writeFileSync(path.join(dir, "iptables"), ipv4);
        fs.writeFileSync(path.join(dir, "ip6tables"), ipv6);
        const load = [
            "set -e",
            'ipset create "$1" hash:ip family inet',
            'iptables-restore "$2"',
            'ip6tables-restore "$3"',
            "shift 3",
        ].join("\n");
        const result = spawnSync(
            "unshare",
            [
                "--net",
                "bash",
                "-c",
                `${load}\n${script}`,
                "bash",
                workerSet,
                path.join(dir, "iptables"),
                path.join(dir, "ip6tables"),
                ...args,
            ],
            { encoding: "utf8", timeout: 120_000 },
        );
        return {
            status: result.status,
            stdout: result.stdout,
            output: `${result.stdout}${result.stderr}${result.error ? String(result.error) : ""}`,
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Loads both rules files for real (as the head's services do), in a new network namespace
 * holding the worker set, and lists what the kernel then holds.
 */
export function loadRules(ipv4: string, ipv6: string, workerSet: string): LoadedRules {
    const marker = "---- ip6tables -S ----";
    const run = withRulesLoaded(
        ipv4,
        ipv6,
        workerSet,
        `iptables -S && echo '${marker}' && ip6tables -S`,
    );
    const [v4 = "", v6 = ""] = run.stdout.split(`${marker}\n`);
    const listing = (text: string) => text.split("\n").filter((line) => line !== "");
    return { status: run.status, output: run.output, ipv4: listing(v4), ipv6: listing(v6) };
}

/** Whether each account could connect to each loopback port once the rules are loaded. */
export interface LoopbackReach {
    /** Exit status of the whole run: 0 when the rules loaded and every probe ran. */
    status: number | null;
    output: string;
    /** `port user address` (127.0.0.1 or ::1) -> true (connected) or false (refused). */
    reach: Map<string, boolean>;
}

/**
 * Loads both rules files in a network namespace of its own (loopback up), listens on `ports` of
 * 127.0.0.1 and ::1 there (socat), and tries to connect to each port, over IPv4 and IPv6, as each
 * of `users` (setpriv, with only the user's own groups): the kernel's owner match decides, as on
 * the head node. The namespace and its listeners end with the run.
 */
export function loopbackReach(
    ipv4: string,
    ipv6: string,
    workerSet: string,
    ports: readonly number[],
    users: readonly string[],
): LoopbackReach {
    const script = [
        "ip link set lo up",
        'ports="$1"; users="$2"',
        "for p in $ports; do",
        '  socat "TCP4-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr" SYSTEM:true &',
        '  socat "TCP6-LISTEN:$p,bind=[::1],fork,reuseaddr" SYSTEM:true &',
        "done",
        // Every listener up (both families), seen with ss: a probe connection could be refused.
        'for p in $ports; do for i in $(seq 200); do [ "$(ss -Hltn "sport = :$p" | wc -l)" -ge 2 ] && break; sleep 0.05; done; done',
        "for p in $ports; do for u in $users; do for a in 127.0.0.1 ::1; do",
        '  if setpriv --reuid="$u" --regid="$u" --init-groups timeout 5 bash -c "exec 3<>/dev/tcp/$a/$p" 2>/dev/null; then r=ok; else r=refused; fi',
        '  echo "reach $p $u $a $r"',
        "done; done; done",
        "kill $(jobs -p) 2>/dev/null || true",
    ].join("\n");
    const run = withRulesLoaded(ipv4, ipv6, workerSet, script, [ports.join(" "), users.join(" ")]);
    const reach = new Map<string, boolean>();
    for (const line of run.stdout.split("\n")) {
        const m = /^reach (\d+) (\S+) (\S+) (ok|refused)$/.exec(line);
        if (m) reach.set(`${m[1]} ${m[2]} ${m[3]}`, m[4] === "ok");
    }
    return { status: run.status, output: run.output, reach };
}
