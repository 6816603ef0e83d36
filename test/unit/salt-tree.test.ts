/**
 * The Salt tree, rendered with real Jinja2 (Debian's python3-jinja2) against the pillar the
 * program generates, for every supported kind of config: the highstates have the structure Salt
 * expects (test/salt/render.py checks IDs, module.function names, arguments and requisites),
 * every file renders, secrets stay where they belong, generated shell passes shellcheck and
 * plain YAML passes yamllint. Daemons that parse the generated configs (slurmctld, nginx,
 * exportfs) run in test/integration/salt-generated-configs.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { describe, it } from "node:test";
import * as yaml from "js-yaml";
import { buildPillar, renderPublicPillarFiles, usersCidrsByFamily } from "../../components/pillar";
import { restoreTest, type RulesFamily } from "../helpers/firewall";
import {
    PILLAR_RESOURCES,
    PILLAR_SECRETS,
    RENDER_CONFIGS,
    SALT_TREE,
    renderHighstate,
    renderHighstateWithUsersCidrs,
    type Highstate,
    WORKER_TEST_ADDRESS,
} from "../helpers/salt";

/** The configs whose highstates are rendered; together they reach every file of the tree. */
const CONFIGS = RENDER_CONFIGS;

const rendered = new Map<string, { head: Highstate; worker: Highstate }>();
function highstates(name: string): { head: Highstate; worker: Highstate } {
    let entry = rendered.get(name);
    if (!entry) {
        const config = CONFIGS[name]!;
        entry = {
            head: renderHighstate(config, "head"),
            worker: renderHighstate(config, "worker"),
        };
        rendered.set(name, entry);
    }
    return entry;
}

const TOKENS = PILLAR_SECRETS.localApiTokens;
const SECRET_VALUES = [
    PILLAR_SECRETS.applicationCredentialSecret,
    PILLAR_SECRETS.dashboardPassword,
    TOKENS.slurm,
    TOKENS.salt,
    TOKENS.admin,
    "TLS-KEY-do-not-leak",
];
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function lines(text: string): string[] {
    return text.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#"));
}

function shellcheck(script: string, label: string): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-shellcheck-"));
    try {
        const file = path.join(dir, "script.sh");
        fs.writeFileSync(file, script);
        const result = spawnSync("shellcheck", ["-s", "bash", file], { encoding: "utf8" });
        assert.equal(
            result.status,
            0,
            `${label} fails shellcheck:\n${result.stdout}${result.stderr}`,
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** yamllint with the tree's settings; generated files may have long lines (keys, fingerprints). */
function yamllint(text: string, label: string, generated = false): void {
    const settings = generated
        ? ["-d", "{extends: default, rules: {line-length: disable, document-start: disable}}"]
        : ["-c", path.join(SALT_TREE, ".yamllint")];
    const result = spawnSync("yamllint", [...settings, "-f", "parsable", "-"], {
        input: text,
        encoding: "utf8",
    });
    assert.equal(result.status, 0, `${label} fails yamllint:\n${result.stdout}${result.stderr}`);
}

describe("Salt tree: every config renders to a valid highstate", () => {
    for (const name of Object.keys(CONFIGS)) {
        it(`${name}: head and worker highstates render without structural errors`, () => {
            const { head, worker } = highstates(name);
            assert.deepEqual(head.errors, []);
            assert.deepEqual(worker.errors, []);
            assert.ok(head.sls.includes("dynamic_cluster.head"));
            assert.ok(worker.sls.includes("dynamic_cluster.worker"));
            assert.ok(
                !worker.sls.some((sls) => sls.includes(".head")),
                "no head state on a worker",
            );
        });
    }

    it("the head node gets Salt master, NFS, scheduler, Graphite, proxy, service, users, firewall", () => {
        const { head } = highstates("slurm, floor 2, burst 8, one user");
        assert.deepEqual(head.sls, [
            "dynamic_cluster.common.repos",
            "dynamic_cluster.common.hosts",
            "dynamic_cluster.head.accounts",
            "dynamic_cluster.head.firewall",
            "dynamic_cluster.head.data_volume",
            "dynamic_cluster.common.users",
            "dynamic_cluster.head.nfs_server",
            "dynamic_cluster.common.munge",
            "dynamic_cluster.head.config_dir",
            "dynamic_cluster.head.torque_commands",
            "dynamic_cluster.head.slurm",
            "dynamic_cluster.head.graphite",
            "dynamic_cluster.head.salt_master",
            "dynamic_cluster.head.service",
            "dynamic_cluster.head.proxy",
            "dynamic_cluster.head",
        ]);
    });

    it("each node's own name resolves to its cluster address (/etc/hosts)", () => {
        const { head, worker } = highstates("slurm, floor 2, burst 8, one user");
        const own = (states: typeof head.states) =>
            states["dynamic-cluster-common-hosts-host-present-own-name"]!.args;
        assert.deepEqual(own(head.states), {
            name: "dc-head",
            ip: PILLAR_RESOURCES.headAddress,
            clean: true,
        });
        assert.deepEqual(own(worker.states), {
            name: "compute-dy-1",
            ip: WORKER_TEST_ADDRESS,
            clean: true,
        });
    });

    it("a worker gets users, /data, slurmd, the collector, and reports last", () => {
        const { worker } = highstates("slurm, floor 2, burst 8, one user");
        assert.deepEqual(worker.sls, [
            "dynamic_cluster.common.repos",
            "dynamic_cluster.common.hosts",
            "dynamic_cluster.common.users",
            "dynamic_cluster.worker.nfs_client",
            "dynamic_cluster.common.munge",
            "dynamic_cluster.worker.slurm",
            "dynamic_cluster.worker.scheduler",
            "dynamic_cluster.worker.stats",
            "dynamic_cluster.worker.ready",
            "dynamic_cluster.worker",
        ]);
        const ready = worker.states["dynamic-cluster-worker-ready-event-send-ready"]!;
        assert.equal(ready.args.name, "dynamic-cluster/worker/ready");
        assert.deepEqual(ready.args.data, { node_name: "compute-dy-1" });
        const failed = worker.states["dynamic-cluster-worker-ready-event-send-failed"]!;
        assert.deepEqual(failed.args.onfail_any, ready.args.require);
    });

    it("every .sls file and every template of the tree is rendered by some config", () => {
        const slsSeen = new Set<string>();
        const sourcesSeen = new Set<string>();
        for (const name of Object.keys(CONFIGS)) {
            for (const state of Object.values(highstates(name))) {
                state.sls.forEach((sls) => slsSeen.add(sls));
                Object.values(state.files).forEach((f) => f.source && sourcesSeen.add(f.source));
            }
        }
        const walk = (dir: string): string[] =>
            fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
                const full = path.join(dir, e.name);
                return e.isDirectory() ? walk(full) : [path.relative(SALT_TREE, full)];
            });
        const files = walk(path.join(SALT_TREE, "dynamic_cluster"));
        const slsFiles = files
            .filter((f) => f.endsWith(".sls"))
            .map((f) =>
                f
                    .replace(/\.sls$/, "")
                    .replace(/\/init$/, "")
                    .replace(/\//g, "."),
            );
        assert.deepEqual(slsFiles.filter((sls) => !slsSeen.has(sls)).sort(), []);
        // A template another one includes (`{% include 'dynamic_cluster/...' %}`) counts as
        // rendered with it.
        for (const source of [...sourcesSeen]) {
            const text = fs.readFileSync(
                path.join(SALT_TREE, source.replace("salt://", "")),
                "utf8",
            );
            for (const m of text.matchAll(/\{%-?\s*include\s+'([^']+)'/g))
                sourcesSeen.add(`salt://${m[1]}`);
        }
        const templates = files.filter((f) => f.includes("/files/")).map((f) => `salt://${f}`);
        assert.deepEqual(templates.filter((t) => !sourcesSeen.has(t)).sort(), []);
    });
});

describe("Salt tree: what the rendered files say", () => {
    it("the Salt master never auto-accepts, emits auth events, maps every reactor and loads the tree's runners", () => {
        const { head } = highstates("slurm, floor 2, burst 8, one user");
        const conf = head.files["/etc/salt/master.d/dynamic-cluster.conf"]!.content;
        yamllint(conf, "master.d/dynamic-cluster.conf", true);
        assert.match(conf, /^auto_accept: False$/m);
        assert.match(conf, /^auth_events: True$/m);
        assert.match(conf, /^interface: 10\.42\.0\.5$/m);
        const reactorFiles = [...conf.matchAll(/- \/srv\/salt\/(reactor\/\w+\.sls)$/gm)].map(
            (m) => m[1]!,
        );
        assert.deepEqual(reactorFiles, [
            "reactor/auth.sls",
            "reactor/start.sls",
            "reactor/stats.sls",
            "reactor/worker.sls",
            "reactor/job_return.sls",
        ]);
        for (const file of reactorFiles) assert.ok(fs.existsSync(path.join(SALT_TREE, file)), file);
        assert.deepEqual(
            fs.readdirSync(path.join(SALT_TREE, "reactor")).sort(),
            reactorFiles.map((f) => path.basename(f)).sort(),
            "every reactor file is mapped",
        );
        // The reactors' forwarder (salt/_runners/dc_forward.py), from the tree the head serves.
        const master = yaml.load(conf) as Record<string, unknown>;
        assert.deepEqual(master["runner_dirs"], ["/srv/salt/_runners"]);
        assert.deepEqual(master["file_roots"], { base: ["/srv/salt"] });
        assert.ok(fs.existsSync(path.join(SALT_TREE, "_runners/dc_forward.py")));
        assert.deepEqual(
            (master["reactor"] as Array<Record<string, string[]>>).map((e) => Object.keys(e)[0]),
            [
                "salt/auth",
                "salt/minion/*/start",
                "dynamic-cluster/stats",
                "dynamic-cluster/worker/*",
                "salt/job/*/ret/*",
            ],
        );
    });

    it("nginx gives every upstream the client's address as it saw it, in headers a client cannot set (the Graphite login check too)", () => {
        const { head } = highstates("slurm, floor 2, burst 8, one user");
        const conf = head.files["/etc/nginx/conf.d/dynamic-cluster.conf"]!.content;
        const locations = [...conf.matchAll(/^ {4}location ([^{]+)\{\n([\s\S]*?)^ {4}\}$/gm)].map(
            (m) => ({ where: m[1]!.trim(), body: m[2]! }),
        );
        const proxied = locations.filter((l) => /proxy_pass /.test(l.body));
        assert.deepEqual(
            proxied.map((l) => l.where),
            ["/dashboard/", "/api/", "= /_auth", "/graphite/"],
        );
        for (const { where, body } of proxied) {
            // proxy_set_header replaces a header of the same name the client sent.
            assert.match(body, /^ +proxy_set_header X-Real-IP \$remote_addr;$/m, where);
            assert.match(body, /^ +proxy_set_header X-Forwarded-For \$remote_addr;$/m, where);
        }
        // A client's own X-Forwarded-For is never passed on, appended to or not.
        assert.doesNotMatch(conf, /\$proxy_add_x_forwarded_for|\$http_x_/);
    });

    const slurmCases: Array<[string, string[], RegExp[]]> = [
        [
            "slurm, floor 2, burst 8, one user",
            [
                "SuspendExcNodes=compute-st-[1-2]",
                "NodeName=compute-st-[1-2] CPUs=4 RealMemory=7536 State=CLOUD Feature=static",
                "NodeName=compute-dy-[1-8] CPUs=4 RealMemory=7536 State=CLOUD Feature=burst",
                "PartitionName=batch Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            ],
            [],
        ],
        [
            "slurm, no floor, no users",
            ["NodeName=compute-dy-[1-4] CPUs=4 RealMemory=7536 State=CLOUD Feature=burst"],
            [/^SuspendExcNodes/m, /Feature=static/],
        ],
        [
            "slurm, floor only (min = max) beside a GPU pool and a large-memory pool",
            [
                "GresTypes=gpu",
                "SuspendExcNodes=bigmem-dy-[1-2]:1,compute-st-[1-3],bigmem-st-[1-1]",
                "NodeName=compute-st-[1-3] CPUs=4 RealMemory=7536 State=CLOUD Feature=static",
                "NodeName=gpu-dy-[1-2] CPUs=4 RealMemory=7536 State=CLOUD Feature=burst,a100 Gres=gpu:a100:2",
                "NodeSet=compute_nodes Nodes=compute-st-[1-3]",
                "PartitionName=batch Nodes=compute_nodes Default=YES MaxTime=INFINITE State=UP SuspendTime=600",
                "PartitionName=bigmem Nodes=bigmem_nodes MaxTime=INFINITE State=UP SuspendTime=1800",
            ],
            [/^NodeName=compute-dy/m],
        ],
    ];
    for (const [name, present, absent] of slurmCases) {
        it(`slurm.conf for "${name}" declares the floor and the burst pool`, () => {
            const conf = highstates(name).head.files["/etc/slurm/slurm.conf"]!.content;
            for (const line of present) assert.ok(lines(conf).includes(line), `missing: ${line}`);
            for (const pattern of absent) assert.doesNotMatch(conf, pattern);
            assert.match(conf, /^SlurmctldHost=dc-head\(10\.42\.0\.5\)$/m);
            // Power saving runs every 2 s, the value the service's tests and `npm run bench` use.
            assert.match(
                conf,
                /^SlurmctldParameters=enable_configless,cloud_reg_addrs,idle_on_node_suspend,power_save_interval=2,power_save_min_interval=0$/m,
            );
            assert.match(conf, /^ResumeTimeout=1200$/m);
            assert.match(conf, /^SuspendTime=600$/m);
        });
    }

    it("workers run slurmd configless, under the node name the cluster gave them", () => {
        const { worker } = highstates("slurm, floor 2, burst 8, one user");
        assert.equal(
            worker.files["/etc/sysconfig/slurmd"]!.content,
            // file.managed ends `contents` with a newline (checked against Salt in
            // test/integration/salt-real-render.test.ts).
            'SLURMD_OPTIONS="--conf-server 10.42.0.5:6817 -N compute-dy-1"\n',
        );
        const mount = worker.states["dynamic-cluster-worker-nfs-client-mount-mounted"]!;
        assert.equal(mount.args.device, "10.42.0.5:/data");
        assert.equal(mount.args.fstype, "nfs4");
    });

    it("/data is exported to the cluster subnet only, with root squashed", () => {
        const { head } = highstates("slurm, floor 2, burst 8, one user");
        assert.deepEqual(lines(head.files["/etc/exports.d/dynamic-cluster.exports"]!.content), [
            "/data 10.42.0.0/24(rw,sync,no_subtree_check,root_squash,sec=sys)",
        ]);
        const formatted = head.states["dynamic-cluster-head-data-volume-blockdev-formatted"]!;
        assert.equal(formatted.args.name, "/dev/disk/by-id/virtio-0b6d3f2e-55aa-4c1e-9");
        assert.equal(formatted.args.force, undefined, "never forces a format");
    });

    for (const name of ["slurm, floor 2, burst 8, one user", "torque"]) {
        it(`the head firewall (${name}) opens SSH/HTTPS to users only and nothing to the world`, () => {
            const rules = lines(highstates(name).head.files["/etc/sysconfig/iptables"]!.content);
            assert.ok(rules.includes(":INPUT DROP [0:0]"));
            const accepts = rules.filter(
                (r) => r.startsWith("-A INPUT") && r.endsWith("-j ACCEPT"),
            );
            for (const rule of accepts) {
                assert.doesNotMatch(rule, /0\.0\.0\.0\/0/);
                const port = /--dport (\S+)/.exec(rule)?.[1];
                if (port === "22" || port === "443") assert.match(rule, /-s 203\.0\.113\.0\/24 /);
                else if (port && port !== "4505:4506")
                    assert.match(rule, /--match-set dc-workers src/);
            }
            const ports = accepts.map((r) => /--dport (\S+)/.exec(r)?.[1]).filter(Boolean);
            const expected =
                name === "torque"
                    ? ["22", "443", "4505:4506", "2049", "15001"]
                    : ["22", "443", "4505:4506", "2049", "6817", "60001:60999"];
            assert.deepEqual(ports, expected);
        });
    }

    it("Torque clusters fail the state run with a clear message instead of running without a scheduler", () => {
        const { head, worker } = highstates("torque");
        const fail = head.states["dynamic-cluster-head-torque-test-fail-without-changes"]!;
        assert.match(
            String(fail.args.name),
            /scheduler=torque.*pulumi config set scheduler slurm/s,
        );
        assert.ok(worker.states["dynamic-cluster-worker-torque-test-fail-without-changes"]);
        assert.ok(!("/etc/slurm/slurm.conf" in head.files));
    });

    it("users get the same UID everywhere, home on /data, keys on the head", () => {
        const { head, worker } = highstates("slurm, floor 2, burst 8, one user");
        for (const [role, state] of [
            ["head", head],
            ["worker", worker],
        ] as const) {
            const user = state.states["dynamic-cluster-common-users-user-present-fred"]!;
            assert.equal(user.args.uid, 1001, role);
            assert.equal(user.args.home, "/data/home/fred", role);
            assert.equal(user.args.createhome, role === "head", role);
        }
        assert.deepEqual(
            head.states["dynamic-cluster-common-users-ssh-auth-manage-fred"]!.args.ssh_keys,
            [
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvbXJAl0jiGzk9VeUUwljGOdOMkZJuRSO6d37SV53mL fred@laptop",
            ],
        );
        assert.equal(worker.states["dynamic-cluster-common-users-ssh-auth-manage-fred"], undefined);
    });
});

describe("Salt tree: the head's host firewall, IPv4 and IPv6", () => {
    const RULES: Record<RulesFamily, string> = {
        ipv4: "/etc/sysconfig/iptables",
        ipv6: "/etc/sysconfig/ip6tables",
    };
    const IPV4_ONLY = "slurm, floor 2, burst 8, one user";
    const MIXED = "slurm, IPv4 and IPv6 users' networks";
    /** Users' networks of both families, and two of one (the pillar's lists; see the helper). */
    const BOTH = ["203.0.113.0/24", "2001:db8:42::/48", "2001:db8:99::/64"];
    let both: Highstate | undefined;
    const bothHead = (): Highstate =>
        (both ??= renderHighstateWithUsersCidrs(RENDER_CONFIGS[IPV4_ONLY]!, "head", BOTH));
    const BOTH_NAME = "IPv4 and IPv6 users' networks";
    const heads = (): Array<[string, Highstate]> => [
        ...Object.keys(CONFIGS).map((name): [string, Highstate] => [name, highstates(name).head]),
        [BOTH_NAME, bothHead()],
    ];
    const rules = (head: Highstate, family: RulesFamily): string[] => {
        const file = head.files[RULES[family]];
        assert.ok(file, `${RULES[family]} is not generated`);
        return lines(file.content);
    };
    /** `[source, port]` of every rule that accepts TCP. */
    const tcpAccepts = (r: string[]): Array<[string | undefined, string | undefined]> =>
        r
            .filter((rule) => rule.startsWith("-A INPUT "))
            .filter((rule) => / -p tcp /.test(rule) && rule.endsWith("-j ACCEPT"))
            .filter((rule) => !/--match-set/.test(rule) && !/--dport 4505:4506/.test(rule))
            .map((rule) => [/ -s (\S+)/.exec(rule)?.[1], /--dport (\S+)/.exec(rule)?.[1]]);

    for (const name of [...Object.keys(CONFIGS), BOTH_NAME]) {
        it(`${name}: the rules load with iptables-restore --test and ip6tables-restore --test`, () => {
            const head = name === BOTH_NAME ? bothHead() : highstates(name).head;
            assert.deepEqual(head.errors, []);
            for (const family of ["ipv4", "ipv6"] as const) {
                const text = head.files[RULES[family]]?.content;
                assert.ok(text, `${RULES[family]} is not generated`);
                const result = restoreTest(family, text, "dc-workers");
                assert.equal(result.status, 0, `${RULES[family]}:\n${result.output}`);
            }
        });
    }

    it("an IPv4 users' network: SSH and HTTPS in iptables only", () => {
        const head = highstates(IPV4_ONLY).head;
        assert.deepEqual(tcpAccepts(rules(head, "ipv4")), [
            ["203.0.113.0/24", "22"],
            ["203.0.113.0/24", "443"],
        ]);
        assert.deepEqual(tcpAccepts(rules(head, "ipv6")), []);
    });

    it("an IPv4 and an IPv6 users' network (allowedCidr): each in its own family's file only", () => {
        const head = highstates(MIXED).head;
        assert.deepEqual(tcpAccepts(rules(head, "ipv4")), [
            ["198.51.100.0/24", "22"],
            ["198.51.100.0/24", "443"],
        ]);
        assert.ok(!rules(head, "ipv4").some((r) => r.includes("2001:db8")), "no IPv6 in iptables");
        assert.deepEqual(tcpAccepts(rules(head, "ipv6")), [
            ["2001:db8:42::/48", "22"],
            ["2001:db8:42::/48", "443"],
        ]);
    });

    it("both families: each file opens SSH and HTTPS to its own family's ranges", () => {
        const head = bothHead();
        assert.deepEqual(tcpAccepts(rules(head, "ipv4")), [
            ["203.0.113.0/24", "22"],
            ["203.0.113.0/24", "443"],
        ]);
        assert.deepEqual(tcpAccepts(rules(head, "ipv6")), [
            ["2001:db8:42::/48", "22"],
            ["2001:db8:42::/48", "443"],
            ["2001:db8:99::/64", "22"],
            ["2001:db8:99::/64", "443"],
        ]);
    });

    it("IPv6 is as strict as IPv4: DROP policies, loopback, established, neighbour discovery, nothing else", () => {
        for (const [name, head] of heads()) {
            const v4 = rules(head, "ipv4");
            const v6 = rules(head, "ipv6");
            const policies = (r: string[]) => r.filter((rule) => rule.startsWith(":"));
            assert.deepEqual(policies(v6), policies(v4), name);
            assert.deepEqual(policies(v6), [
                ":INPUT DROP [0:0]",
                ":FORWARD DROP [0:0]",
                ":OUTPUT ACCEPT [0:0]",
            ]);
            const appended = v6.filter((rule) => rule.startsWith("-A "));
            const input = appended.filter((rule) => rule.startsWith("-A INPUT "));
            const output = (r: string[]) => r.filter((rule) => rule.startsWith("-A OUTPUT "));
            assert.deepEqual(
                appended,
                [...input, ...output(v6)],
                `${name}: INPUT, then the loopback OUTPUT rules`,
            );
            assert.deepEqual(output(v6), output(v4), `${name}: the same loopback rules in both`);
            assert.equal(input[0], "-A INPUT -i lo -j ACCEPT", name);
            assert.equal(input.at(-1), "-A INPUT -j REJECT --reject-with icmp6-adm-prohibited");
            const invalid = input.indexOf("-A INPUT -m conntrack --ctstate INVALID -j DROP");
            assert.ok(
                input.includes("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"),
            );
            // Conntrack does not track neighbour discovery: it must be accepted before the
            // INVALID rule, and only from the link (hop limit 255, RFC 4861).
            for (const type of [
                "router-advertisement",
                "neighbour-solicitation",
                "neighbour-advertisement",
            ]) {
                const at = input.findIndex((rule) => rule.includes(`--icmpv6-type ${type} `));
                assert.ok(at > 0 && at < invalid, `${name}: ${type} before the INVALID rule`);
                assert.match(input[at]!, /-m hl --hl-eq 255 -j ACCEPT$/);
            }
            // ICMPv6: neighbour discovery, multicast listener queries (130) and ping only.
            assert.deepEqual(
                input
                    .filter((rule) => / -p ipv6-icmp /.test(rule))
                    .map((rule) => /--icmpv6-type (\S+)/.exec(rule)?.[1]),
                [
                    "router-advertisement",
                    "neighbour-solicitation",
                    "neighbour-advertisement",
                    "130",
                    "echo-request",
                ],
                name,
            );
            // Every other ACCEPT is the DHCPv6 client on the link-local address, or SSH/HTTPS
            // from a users' range: no Salt, NFS or scheduler port over IPv6.
            const v6Users =
                name === BOTH_NAME
                    ? BOTH.filter((c) => c.includes(":"))
                    : name === MIXED
                      ? ["2001:db8:42::/48"]
                      : [];
            for (const rule of input.filter((r) => r.endsWith("-j ACCEPT"))) {
                if (/ -p ipv6-icmp /.test(rule) || / -i lo | --ctstate /.test(rule)) continue;
                if (/ -p udp /.test(rule)) {
                    assert.match(rule, /-d fe80::\/64 .*--dport 546 -j ACCEPT$/, name);
                    continue;
                }
                const m = /^-A INPUT -p tcp -s (\S+) --dport (22|443) -j ACCEPT$/.exec(rule);
                assert.ok(m && v6Users.includes(m[1]!), `${name}: unexpected ${rule}`);
            }
        }
    });

    it("loopback ports of the head's services: each open to the accounts that use it, refused to every other", () => {
        const expected = (slurm: boolean) => {
            const rules: string[] = [];
            for (const [port, users] of [
                [2003, ["root"]],
                [7002, ["graphite"]],
                [8090, ["nginx"]],
                [8080, ["nginx"]],
                [8081, ["root", "salt", ...(slurm ? ["slurm"] : [])]],
            ] as const) {
                for (const user of users) {
                    rules.push(
                        `-A OUTPUT -o lo -p tcp -m tcp --dport ${port} -m owner --uid-owner ${user} -j ACCEPT`,
                    );
                }
                rules.push(
                    `-A OUTPUT -o lo -p tcp -m tcp --dport ${port} -j REJECT --reject-with tcp-reset`,
                );
            }
            return rules;
        };
        for (const [name, head] of heads()) {
            for (const family of ["ipv4", "ipv6"] as const) {
                const output = rules(head, family).filter((rule) => rule.startsWith("-A OUTPUT "));
                assert.deepEqual(output, expected(!name.startsWith("torque")), `${name} ${family}`);
            }
        }
    });

    it("the pillar splits the users' networks by address family in one place", () => {
        assert.deepEqual(usersCidrsByFamily(["203.0.113.0/24", "2001:db8:42::/48", "10.0.0.0/8"]), {
            users_cidr_v4: ["203.0.113.0/24", "10.0.0.0/8"],
            users_cidr_v6: ["2001:db8:42::/48"],
        });
        for (const [name, v4, v6] of [
            [IPV4_ONLY, ["203.0.113.0/24"], []],
            [MIXED, ["198.51.100.0/24"], ["2001:db8:42::/48"]],
        ] as const) {
            const pillar = buildPillar(RENDER_CONFIGS[name]!, PILLAR_RESOURCES) as {
                dynamic_cluster: { network: Record<string, unknown> };
            };
            const network = pillar.dynamic_cluster.network;
            assert.deepEqual(network["users_cidr_v4"], v4, name);
            assert.deepEqual(network["users_cidr_v6"], v6, name);
            assert.equal(network["users_cidr"], undefined, "one source: the two lists");
        }
    });

    it("firewall.sls checks each file with its restore command and keeps it with its service", () => {
        const { head } = highstates(IPV4_ONLY);
        for (const [family, service] of [
            ["ipv4", "iptables"],
            ["ipv6", "ip6tables"],
        ] as const) {
            const file = head.files[RULES[family]]!;
            assert.equal(file.mode, "0600");
            const managed = head.states[file.state]!;
            assert.equal(managed.args.check_cmd, `${service}-restore --test`);
            const running = Object.entries(head.states).filter(
                ([, s]) =>
                    s.module === "service" && s.function === "running" && s.args.name === service,
            );
            assert.equal(running.length, 1, service);
            const [, unit] = running[0]!;
            assert.equal(unit.args.enable, true);
            assert.ok(
                (unit.args.watch as unknown[]).some((w) =>
                    isDeepStrictEqual(w, { file: file.state }),
                ),
                `${service} reloads when its rules change`,
            );
            assert.ok(
                (unit.args.require as unknown[]).some((r) =>
                    isDeepStrictEqual(r, {
                        service: "dynamic-cluster-head-firewall-service-dead-firewalld",
                    }),
                ),
                `${service} starts once firewalld is stopped`,
            );
        }
    });
});

describe("Salt tree: secrets", () => {
    for (const name of Object.keys(CONFIGS)) {
        it(`${name}: no head secret reaches a worker's highstate`, () => {
            const text = JSON.stringify(highstates(name).worker);
            for (const secret of SECRET_VALUES) assert.ok(!text.includes(secret), secret);
        });
    }

    it("on the head node, files holding secrets are root-only (or the reading daemon's group)", () => {
        const { head } = highstates("slurm, floor 2, burst 8, one user");
        const holding = Object.entries(head.files).filter(([, f]) =>
            SECRET_VALUES.some((secret) => f.content.includes(secret)),
        );
        assert.deepEqual(holding.map(([p, f]) => [p, f.mode]).sort(), [
            ["/etc/dynamic-cluster/admin-local-api.header", "0600"],
            ["/etc/dynamic-cluster/reactor-local-api.header", "0640"],
            ["/etc/dynamic-cluster/slurm-local-api.header", "0640"],
            ["/etc/pki/dynamic-cluster/tls.key", "0600"],
        ]);
        for (const [, f] of holding) {
            const state = head.states[f.state]!;
            assert.equal(state.args.show_changes, false, `${f.state} must not print the secret`);
        }
        const settings = head.states["dynamic-cluster-head-service-file-serialize-settings"]!;
        assert.equal(settings.args.mode, "0600");
        assert.equal(settings.args.show_changes, false);
    });

    it("each local-API caller's header file holds its own token and no other, readable by that caller's group only", () => {
        const { head } = highstates("slurm, floor 2, burst 8, one user");
        const expected: Array<[file: string, token: string, group: string, mode: string]> = [
            ["/etc/dynamic-cluster/slurm-local-api.header", TOKENS.slurm, "slurm", "0640"],
            ["/etc/dynamic-cluster/reactor-local-api.header", TOKENS.salt, "salt", "0640"],
            ["/etc/dynamic-cluster/admin-local-api.header", TOKENS.admin, "root", "0600"],
        ];
        for (const [file, token, group, mode] of expected) {
            const f = head.files[file];
            assert.ok(f, `${file} is written`);
            const state = head.states[f.state]!;
            assert.deepEqual(
                [state.args.user, state.args.group, f.mode, state.args.show_changes],
                ["root", group, mode, false],
                file,
            );
            assert.match(f.content, new RegExp(`^Authorization: Bearer ${token}$`, "m"), file);
            for (const other of Object.values(TOKENS).filter((t) => t !== token))
                assert.ok(!f.content.includes(other), `${file} holds another caller's token`);
        }
        // Each file is written by the state of the program that reads it.
        assert.deepEqual(
            expected.map(([file]) => head.states[head.files[file]!.state]!.sls),
            [
                "dynamic_cluster.head.slurm",
                "dynamic_cluster.head.salt_master",
                "dynamic_cluster.head.service",
            ],
        );
    });

    it("the service's settings carry the three tokens' SHA-256 digests, never a token", () => {
        const { head } = highstates("slurm, floor 2, burst 8, one user");
        const dataset = head.states["dynamic-cluster-head-service-file-serialize-settings"]!.args
            .dataset as Record<string, unknown>;
        const secrets = dataset["secrets"] as Record<string, unknown>;
        assert.deepEqual(secrets["local_api_token_sha256"], {
            slurm: sha256(TOKENS.slurm),
            salt: sha256(TOKENS.salt),
            admin: sha256(TOKENS.admin),
        });
        assert.equal(dataset["service_token"], undefined, "no shared token any more");
        const text = JSON.stringify(dataset);
        for (const token of Object.values(TOKENS)) assert.ok(!text.includes(token));
    });
});

describe("Salt tree: /etc/dynamic-cluster", () => {
    const CONFIG_DIR = "/etc/dynamic-cluster";
    const DIR_STATE = "dynamic-cluster-head-config-dir-file-directory";
    for (const name of Object.keys(CONFIGS)) {
        it(`${name}: one state declares the directory, root:root 0711, and every file written into it requires that state`, () => {
            const { head, worker } = highstates(name);
            const declaring = Object.entries(head.states).filter(
                ([, s]) => s.args.name === CONFIG_DIR,
            );
            assert.deepEqual(declaring, [
                [
                    DIR_STATE,
                    {
                        module: "file",
                        function: "directory",
                        // 0711: salt and slurm reach only the file their group may read; nobody
                        // but root lists the directory (see config_dir.sls).
                        args: { name: CONFIG_DIR, user: "root", group: "root", mode: "0711" },
                        sls: "dynamic_cluster.head.config_dir",
                    },
                ],
            ]);
            const writers = Object.entries(head.states).filter(
                ([, s]) =>
                    typeof s.args.name === "string" && path.dirname(s.args.name) === CONFIG_DIR,
            );
            assert.deepEqual(
                writers.map(([id, s]) => [id, s.args.name, s.args.group, s.args.mode]).sort(),
                [
                    [
                        "dynamic-cluster-head-salt-master-file-managed-local-api-header",
                        `${CONFIG_DIR}/reactor-local-api.header`,
                        "salt",
                        "0640",
                    ],
                    [
                        "dynamic-cluster-head-service-file-managed-admin-header",
                        `${CONFIG_DIR}/admin-local-api.header`,
                        "root",
                        "0600",
                    ],
                    [
                        "dynamic-cluster-head-service-file-serialize-settings",
                        `${CONFIG_DIR}/service.json`,
                        "root",
                        "0600",
                    ],
                    ...(name === "torque"
                        ? []
                        : [
                              [
                                  "dynamic-cluster-head-slurm-file-managed-local-api-header",
                                  `${CONFIG_DIR}/slurm-local-api.header`,
                                  "slurm",
                                  "0640",
                              ],
                          ]),
                ],
            );
            for (const [id, s] of writers) {
                assert.equal(s.args.user, "root", id);
                assert.ok(
                    (s.args.require as unknown[]).some((r) =>
                        isDeepStrictEqual(r, { file: DIR_STATE }),
                    ),
                    `${id} must require ${DIR_STATE}`,
                );
                // makedirs would create the directory with this file's group and mode.
                assert.equal(s.args.makedirs, undefined, id);
            }
            const nested = Object.entries(head.states).filter(
                ([, s]) =>
                    typeof s.args.name === "string" && s.args.name.startsWith(`${CONFIG_DIR}/`),
            );
            assert.equal(nested.length, writers.length, "no subdirectories");
            assert.ok(
                !JSON.stringify(worker.states).includes(CONFIG_DIR),
                "a worker has no /etc/dynamic-cluster",
            );
        });
    }
});

describe("Salt tree: generated shell and YAML", () => {
    it("the Slurm power-saving programs pass shellcheck and never put the token on a command line", () => {
        const { head } = highstates("slurm, floor 2, burst 8, one user");
        for (const action of ["resume", "suspend", "resume-fail"]) {
            const file = head.files[`/usr/local/libexec/dynamic-cluster/slurm-${action}`]!;
            assert.equal(file.mode, "0755");
            shellcheck(file.content, `slurm-${action}`);
            assert.match(
                file.content,
                new RegExp(
                    "^exec '/opt/dynamic-cluster/bin/dynamic-cluster' --token-file " +
                        "'/etc/dynamic-cluster/slurm-local-api.header' --url 'http://127.0.0.1:8081' \\\\\n" +
                        `    slurm ${action} "\\$1"$`,
                    "m",
                ),
            );
            for (const token of Object.values(TOKENS)) assert.ok(!file.content.includes(token));
        }
    });

    it("every cmd.run command and unless/onlyif condition passes shellcheck", () => {
        let checked = 0;
        for (const name of Object.keys(CONFIGS)) {
            for (const state of Object.values(highstates(name))) {
                for (const [id, s] of Object.entries(state.states)) {
                    const snippets = [
                        s.module === "cmd" ? s.args.name : undefined,
                        s.args.unless,
                        s.args.onlyif,
                    ].filter((x): x is string => typeof x === "string");
                    for (const snippet of snippets) {
                        shellcheck(`#!/bin/bash\n${snippet}\n`, `${id}: ${snippet}`);
                        checked++;
                    }
                }
            }
        }
        assert.ok(checked >= 5, `only ${checked} snippets found`);
    });

    it("plain YAML of the tree and the generated pillar pass yamllint", () => {
        yamllint(fs.readFileSync(path.join(SALT_TREE, "pillar.example"), "utf8"), "pillar.example");
        yamllint(
            fs.readFileSync(path.join(SALT_TREE, "dynamic_cluster/defaults.yaml"), "utf8"),
            "defaults.yaml",
        );
        for (const config of Object.values(CONFIGS)) {
            for (const [file, text] of Object.entries(
                renderPublicPillarFiles(config, PILLAR_RESOURCES),
            )) {
                yamllint(text, `generated pillar ${file}`, true);
            }
        }
    });
});
