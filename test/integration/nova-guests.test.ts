/**
 * Real guests through the local OpenStack's own services (issue 18, step b): the project's
 * Debian 12 image goes to Glance through `npm run image`'s upload (scripts/image/upload.ts, the
 * project's OpenStack client), and Nova's libvirt driver boots it under QEMU (virt_type=qemu) on
 * the real-guest host osbox-qemu, on a Neutron network whose port the linuxbridge agent wires,
 * whose address the DHCP agent's dnsmasq hands out, and whose floating IP the L3 agent NATs onto
 * this machine's bridge osbox-ext (test/env/openstack/up.sh; test/helpers/novaGuest.ts makes the
 * network as a user would). cloud-init reads the user data from Nova's config drive. The
 * program's own SSH host key check (components/hostKey.ts) reads the fingerprints from the
 * console log Nova serves and pins the key the guest presents at its floating IP.
 *
 * A Cinder volume of the type `ceph` (Cinder's RBD driver on the box's one-node Ceph,
 * test/env/openstack/ceph.sh) attaches to the guest through Nova, as the head's data volume
 * does: QEMU opens the RBD image itself, and the guest sees a disk whose serial is the volume's
 * ID. Nothing here is stood in for.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { sshHostKeyProvider } from "../../components/hostKey";
import { connect, execute, type SshConnection } from "../../components/sshSession";
import { DEBIAN_IMAGE_LOGIN } from "../../scripts/image/bootParams";
import { builtImageDir, GuestNetwork, type Guest } from "../helpers/novaGuest";
import { adminSession, demoClient, demoEnv, OSBOX_DIR } from "../helpers/osbox";
import { waitFor } from "../helpers/waitFor";

const ROOT = path.resolve(__dirname, "../..");
const GUEST_HOST = "osbox-qemu";

/** Runs `npm run image`'s upload step as a user does; returns its stdout and stderr. */
function upload(dir: string): { stdout: string; stderr: string } {
    const stderrFile = path.join(os.tmpdir(), `dc-upload-${randomBytes(4).toString("hex")}.log`);
    const fd = fs.openSync(stderrFile, "w");
    try {
        const stdout = execFileSync(
            path.join(ROOT, "node_modules/.bin/tsx"),
            [path.join(ROOT, "scripts/image/upload.ts"), dir],
            {
                encoding: "utf8",
                env: { ...process.env, ...demoEnv() },
                stdio: ["ignore", "pipe", fd],
            },
        );
        return { stdout, stderr: fs.readFileSync(stderrFile, "utf8") };
    } finally {
        fs.closeSync(fd);
        fs.rmSync(stderrFile, { force: true });
    }
}

describe(
    "real guests through Nova's libvirt driver and Neutron's agents",
    { timeout: 1_800_000 },
    () => {
        const nova = demoClient();
        const marker = `DC-GUEST-${randomBytes(6).toString("hex")}`;
        let tmp: string;
        let uploads: Array<{ stdout: string; stderr: string }>;
        let network: GuestNetwork | undefined;
        let guest: Guest;
        let loginKey: string;
        let connection: SshConnection;
        const timings: Record<string, number> = {};

        before(async () => {
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dc-nova-guests-"));
            const dir = builtImageDir();
            uploads = [upload(dir), upload(dir)];
            const imageName = /--path headNode\.image (\S+)/.exec(uploads[0]!.stdout)?.[1] ?? "";
            assert.ok(imageName, uploads[0]!.stdout);

            const keyFile = path.join(tmp, "login");
            execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
            loginKey = fs.readFileSync(keyFile, "utf8");
            network = await GuestNetwork.create(
                nova,
                "10.77.0.0/24",
                fs.readFileSync(`${keyFile}.pub`, "utf8"),
            );
            const started = Date.now();
            guest = await network.boot({
                name: network.tag,
                imageId: await nova.imageId(imageName),
                userData: [
                    "#cloud-config",
                    "runcmd:",
                    `  - echo "${marker} datasource=$(cloud-init query platform) $(cloud-init query subplatform)" > /dev/ttyS0`,
                    "",
                ].join("\n"),
            });
            timings["ACTIVE"] = guest.secondsToActive;
            connection = {
                host: guest.floatingIp,
                port: 22,
                user: DEBIAN_IMAGE_LOGIN,
                connectTimeoutSeconds: 900,
                hostKeySha256: "",
            };
            await network.waitConsole(guest, "cloud-init's runcmd", new RegExp(marker), 900_000);
            timings["user data ran"] = (Date.now() - started) / 1000;
        });

        after(async () => {
            await network?.dispose();
            if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
        });

        /** Runs commands in the guest over SSH (the pinned key), one session for all. */
        async function inGuest<T>(
            use: (run: (command: string) => Promise<string>) => Promise<T>,
        ): Promise<T> {
            const ssh = await connect(connection, loginKey);
            try {
                return await use(async (command: string) => {
                    const result = await execute(ssh, command, "", 120);
                    assert.equal(result.code, 0, `${command}: ${result.stderr}`);
                    return result.stdout;
                });
            } finally {
                ssh.client.end();
            }
        }

        it("npm run image's upload puts the image in Glance once and prints the config that uses it", () => {
            assert.deepEqual(uploads[0]!.stdout, uploads[1]!.stdout);
            assert.match(uploads[0]!.stdout, /^pulumi config set --path workers\.image \S+$/m);
            assert.match(
                uploads[0]!.stdout,
                new RegExp(`^pulumi config set sshUser ${DEBIAN_IMAGE_LOGIN}$`, "m"),
            );
            assert.match(uploads[1]!.stderr, /Glance already has .* of this build/);
        });

        it("Nova boots it under QEMU on the real-guest host", async (t) => {
            t.diagnostic(`seconds from the create call: ${JSON.stringify(timings)}`);
            const server = (
                await adminSession().request("compute", {
                    method: "GET",
                    path: `/servers/${guest.id}`,
                })
            ).json as { server: Record<string, string> };
            assert.equal(server.server["OS-EXT-SRV-ATTR:host"], GUEST_HOST);
            const domain = server.server["OS-EXT-SRV-ATTR:instance_name"]!;
            const state = execFileSync("virsh", ["-c", "qemu:///system", "domstate", domain], {
                encoding: "utf8",
            }).trim();
            assert.equal(state, "running");
        });

        it("cloud-init read the user data from the config drive", async () => {
            const console = await network!.console(guest);
            const line = console.split("\n").find((l) => l.includes(marker)) ?? "";
            assert.match(line, /datasource=configdrive config-disk/, line);
        });

        it("the program's host key check pins the key at the floating IP from Nova's console", async () => {
            await sshHostKeyProvider.configure!({ config: { get: () => undefined } } as never);
            const created = await sshHostKeyProvider.create!({
                connection,
                privateKey: loginKey,
                serverId: guest.id,
                check: "console",
            });
            const outs = created.outs as { hostKeySha256: string; consoleKeys: string[] };
            assert.ok(outs.consoleKeys.includes(outs.hostKeySha256), JSON.stringify(outs));
            connection = { ...connection, hostKeySha256: outs.hostKeySha256 };
        });

        it("the guest has the address Neutron's DHCP gave its port, and a root as large as the flavor", async () => {
            await inGuest(async (run) => {
                assert.match(
                    await run("ip -4 -o addr show dev eth0"),
                    new RegExp(`inet ${guest.fixedIp.replace(/\./g, "\\.")}/24 .*dynamic`),
                );
                assert.match(await run("cloud-init status --wait"), /^status: done$/m);
                const sizeGb = Number(
                    (await run("df --output=size -BG / | tail -n 1")).trim().replace("G", ""),
                );
                assert.ok(sizeGb >= 7, `root is ${sizeGb} GB, the flavor's disk is 8 GB`);
            });
        });

        it("a Cinder volume of type ceph attaches as a disk named by its ID and keeps what is written", async () => {
            const volumeId = await network!.attachNewVolume(guest, 2, "ceph");
            // As the head's states find the data volume: by the serial Nova gives the disk.
            const device = `/dev/disk/by-id/virtio-${volumeId.slice(0, 20)}`;
            const text = `written by ${network!.tag}`;
            const readBack = await inGuest(async (run) => {
                await waitFor(
                    `${device} in the guest`,
                    async () =>
                        (await run(`test -b ${device} && echo yes; true`)).trim()
                            ? true
                            : undefined,
                    { timeoutMs: 120_000, intervalMs: 2000 },
                );
                await run(
                    `printf '%s' '${text}' | sudo dd of=${device} oflag=direct,sync conv=notrunc status=none`,
                );
                return run(
                    `sudo dd if=${device} iflag=direct bs=512 count=1 status=none | head -c ${text.length}`,
                );
            });
            assert.equal(readBack, text);
            // The bytes are in Ceph: the RBD image behind the volume holds them.
            const inCeph = execFileSync(
                "rbd",
                ["-c", path.join(OSBOX_DIR, "etc/ceph/ceph.conf"), "ls", "volumes"],
                { encoding: "utf8" },
            );
            assert.match(inCeph, new RegExp(`^volume-${volumeId}$`, "m"));
        });
    },
);
