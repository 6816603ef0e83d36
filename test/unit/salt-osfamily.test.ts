/**
 * The Salt tree per OS family (salt/dynamic_cluster/osfamilymap.yaml): Rocky/Alma 9 (RedHat)
 * and Debian 12 render the same cluster, differing only in the states and names the map says
 * differ (packages, the firewall's persistence, SELinux, EPEL, the proxy's account, the slurmd
 * environment file), and a machine of another family stops the run with a message. Rendered
 * with real Jinja2 (test/salt/render.py); real Salt renders the Debian head and worker in
 * test/integration/salt-real-render.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { restoreTest } from "../helpers/firewall";
import {
    PILLAR_RESOURCES,
    PILLAR_SECRETS,
    RENDER_CONFIGS,
    renderHighstate,
    type Highstate,
    type OsFamily,
} from "../helpers/salt";

const FAMILIES: OsFamily[] = ["RedHat", "Debian"];
const SLURM = "slurm, floor 2, burst 8, one user";

const cache = new Map<string, Highstate>();
function render(name: string, role: "head" | "worker", family: OsFamily): Highstate {
    const key = `${name}|${role}|${family}`;
    let h = cache.get(key);
    if (!h) {
        h = renderHighstate(RENDER_CONFIGS[name]!, role, PILLAR_RESOURCES, PILLAR_SECRETS, family);
        cache.set(key, h);
    }
    return h;
}

/** States only one family has (everything else must exist in both, same ID). */
const ONLY: Record<OsFamily, { head: string[]; worker: string[] }> = {
    RedHat: {
        head: [
            "dynamic-cluster-common-repos-cmd-run-enable-crb",
            "dynamic-cluster-common-repos-pkg-installed-epel",
            "dynamic-cluster-head-firewall-file-replace-ipset-save-on-stop",
            "dynamic-cluster-head-firewall-service-running-ip6tables",
            "dynamic-cluster-head-firewall-service-running-ipset",
            "dynamic-cluster-head-firewall-service-running-iptables",
            "dynamic-cluster-head-proxy-selinux-boolean-network-connect",
        ],
        worker: [
            "dynamic-cluster-common-repos-cmd-run-enable-crb",
            "dynamic-cluster-common-repos-pkg-installed-epel",
        ],
    },
    Debian: {
        head: [
            "dynamic-cluster-common-repos-test-nop-os-archive",
            "dynamic-cluster-head-firewall-file-managed-ipsets",
            "dynamic-cluster-head-firewall-service-running-netfilter-persistent",
        ],
        worker: ["dynamic-cluster-common-repos-test-nop-os-archive"],
    },
};

describe("Salt tree per OS family", () => {
    for (const name of Object.keys(RENDER_CONFIGS)) {
        for (const family of FAMILIES) {
            it(`${name}, ${family}: head and worker render without structural errors`, () => {
                assert.deepEqual(render(name, "head", family).errors, []);
                assert.deepEqual(render(name, "worker", family).errors, []);
            });
        }
    }

    it("the families differ only in the states the map makes family-specific", () => {
        for (const name of Object.keys(RENDER_CONFIGS)) {
            for (const role of ["head", "worker"] as const) {
                const ids = (family: OsFamily) =>
                    new Set(Object.keys(render(name, role, family).states));
                const redhat = ids("RedHat");
                const debian = ids("Debian");
                assert.deepEqual(
                    [...redhat].filter((id) => !debian.has(id)).sort(),
                    ONLY.RedHat[role].sort(),
                    `${name} ${role}: RedHat only`,
                );
                assert.deepEqual(
                    [...debian].filter((id) => !redhat.has(id)).sort(),
                    ONLY.Debian[role].sort(),
                    `${name} ${role}: Debian only`,
                );
            }
        }
    });

    it("Debian 12: packages from its own archive, netfilter-persistent, /etc/default/slurmd, www-data", () => {
        const head = render(SLURM, "head", "Debian");
        const worker = render(SLURM, "worker", "Debian");
        const pkgs = (h: Highstate, id: string) => h.states[id]!.args.pkgs;
        assert.deepEqual(pkgs(head, "dynamic-cluster-head-slurm-pkg-installed"), [
            "slurmctld",
            "slurm-client",
        ]);
        assert.deepEqual(pkgs(worker, "dynamic-cluster-worker-slurm-pkg-installed"), [
            "slurmd",
            "slurm-client",
            "libpam-slurm-adopt",
        ]);
        assert.deepEqual(pkgs(head, "dynamic-cluster-head-nfs-server-pkg-installed"), [
            "nfs-kernel-server",
        ]);
        // Torque users' commands on the head; the workers' spank_pbs.so is slurmd's dependency.
        assert.deepEqual(pkgs(head, "dynamic-cluster-head-torque-commands-pkg-installed"), [
            "slurm-wlm-torque",
        ]);
        assert.deepEqual(pkgs(worker, "dynamic-cluster-worker-nfs-client-pkg-installed"), [
            "nfs-common",
        ]);
        assert.deepEqual(pkgs(head, "dynamic-cluster-head-data-volume-pkg-installed"), [
            "xfsprogs",
        ]);
        assert.deepEqual(
            Object.keys(head.files)
                .filter((f) => f.startsWith("/etc/iptables/"))
                .sort(),
            ["/etc/iptables/ipsets", "/etc/iptables/rules.v4", "/etc/iptables/rules.v6"],
        );
        assert.equal(
            head.files["/etc/iptables/ipsets"]!.content,
            "create dc-workers hash:ip family inet -exist\n",
        );
        const unit =
            head.states["dynamic-cluster-head-firewall-service-running-netfilter-persistent"]!;
        assert.deepEqual(unit.args.watch, [
            { file: "dynamic-cluster-head-firewall-file-managed-ipsets" },
            { file: "dynamic-cluster-head-firewall-file-managed-iptables-rules" },
            { file: "dynamic-cluster-head-firewall-file-managed-ip6tables-rules" },
        ]);
        assert.ok(!Object.keys(head.files).some((f) => f.startsWith("/etc/sysconfig/")));
        assert.ok(!Object.keys(worker.files).some((f) => f.startsWith("/etc/sysconfig/")));
        assert.equal(
            worker.files["/etc/default/slurmd"]!.content,
            'SLURMD_OPTIONS="--conf-server 10.42.0.5:6817 -N compute-dy-1"\n',
        );
        const proxy = head.states["dynamic-cluster-head-accounts-user-present-proxy"]!.args;
        assert.deepEqual(
            [proxy.name, proxy.home, proxy.shell],
            ["www-data", "/var/www", "/usr/sbin/nologin"],
        );
        // nginx's loopback ports open to Debian's nginx account, in both rules files.
        for (const file of ["/etc/iptables/rules.v4", "/etc/iptables/rules.v6"]) {
            const text = head.files[file]!.content;
            assert.match(text, /--dport 8080 -m owner --uid-owner www-data -j ACCEPT/, file);
            assert.doesNotMatch(text, /--uid-owner nginx /, file);
        }
        assert.deepEqual(head.states["dynamic-cluster-head-proxy-service-running"]!.args.require, [
            { pkg: "dynamic-cluster-head-proxy-pkg-installed" },
        ]);
    });

    it("Debian 12: the rules files load with iptables-restore --test and ip6tables-restore --test", () => {
        const head = render(SLURM, "head", "Debian");
        for (const [family, file] of [
            ["ipv4", "/etc/iptables/rules.v4"],
            ["ipv6", "/etc/iptables/rules.v6"],
        ] as const) {
            const result = restoreTest(family, head.files[file]!.content, "dc-workers");
            assert.equal(result.status, 0, `${file}:\n${result.output}`);
        }
    });

    it("both families: slurmd's unit condition on a local slurm.conf is cleared (configless)", () => {
        for (const family of FAMILIES) {
            const worker = render(SLURM, "worker", family);
            const dropIn =
                worker.files[
                    "/etc/systemd/system/slurmd.service.d/dynamic-cluster-configless.conf"
                ];
            assert.ok(dropIn, family);
            assert.match(dropIn.content, /^\[Unit\]\nConditionPathExists=\n$/m, family);
        }
    });

    it("both families: Torque users' commands on the head, spank_pbs for the jobs' PBS variables", () => {
        const commands: Record<OsFamily, { head: string[]; workerHas: string[] }> = {
            RedHat: { head: ["slurm-torque"], workerHas: ["slurm-torque"] },
            Debian: { head: ["slurm-wlm-torque"], workerHas: [] },
        };
        for (const family of FAMILIES) {
            const head = render(SLURM, "head", family);
            const worker = render(SLURM, "worker", family);
            assert.deepEqual(
                head.states["dynamic-cluster-head-torque-commands-pkg-installed"]!.args.pkgs,
                commands[family].head,
                family,
            );
            const workerPkgs = worker.states["dynamic-cluster-worker-slurm-pkg-installed"]!.args
                .pkgs as string[];
            for (const name of commands[family].workerHas) assert.ok(workerPkgs.includes(name));
            // Served to the workers with slurm.conf; the plugin path is each machine's PluginDir's.
            assert.match(
                head.files["/etc/slurm/plugstack.conf"]!.content,
                /^optional spank_pbs\.so$/m,
                family,
            );
        }
    });

    it("a machine of another family stops the run with a message naming the supported ones", () => {
        const suse = { os_family: "Suse", os: "SLES", osmajorrelease: 15 };
        for (const role of ["head", "worker"] as const) {
            assert.throws(
                () =>
                    renderHighstate(
                        RENDER_CONFIGS[SLURM]!,
                        role,
                        PILLAR_RESOURCES,
                        PILLAR_SECRETS,
                        suse,
                    ),
                /supports the OS families Debian and RedHat \(Rocky\/Alma 9, Debian 12\); this machine is "Suse"\. Use an image of a supported family: pulumi config set --path headNode\.image/,
            );
        }
    });
});
