/**
 * A real virtual machine for the tests: QEMU with software emulation (TCG; this machine's KVM is
 * paravirtual and cannot run stock kernels, ../../shared/research/real-vms.md), booting the
 * project's Debian 12 image (scripts/image/build-debian.sh) from a copy-on-write overlay, with
 * a NoCloud seed for cloud-init (meta-data, user-data, network-config) and extra disks whose
 * serial numbers appear under /dev/disk/by-id as Cinder volumes do. Networking stays on this
 * machine: one user-mode NIC with `restrict=on` (the guest reaches nothing outside) whose SSH
 * port is forwarded to 127.0.0.1, and optionally a NIC on a private link between guests over a
 * loopback socket. The serial console is the guest's console log (what Nova's console log
 * shows). {@link dispose} stops the guest and removes its files.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEBIAN_IMAGE_COMMAND_LINE } from "../../scripts/image/bootParams";
import { freePort } from "./ports";
import { waitFor } from "./waitFor";

/** The image the guests boot (the directory build-debian.sh prints). */
export interface GuestImage {
    dir: string;
}

/** A disk beside the root, e.g. a data volume (`serial` as Nova gives a Cinder volume). */
export interface ExtraDisk {
    sizeGb: number;
    /** Up to 20 characters: the guest sees /dev/disk/by-id/virtio-<serial>. */
    serial: string;
}

/** A NIC on a private link between guests (one listens, the others connect). */
export interface PrivateLink {
    port: number;
    listen: boolean;
    mac: string;
}

/** What a guest boots with. */
export interface GuestOptions {
    /** Short name, in file names and messages. */
    name: string;
    image: GuestImage;
    metaData: Record<string, string>;
    /** The cloud-config text (starts with `#cloud-config`). */
    userData: string;
    /** Netplan-style version 2 network config; the user-mode NIC's MAC is {@link UPLINK_MAC}. */
    networkConfig: string;
    memoryMb?: number;
    disks?: ExtraDisk[];
    link?: PrivateLink;
}

/** MAC address of the user-mode NIC (for the network config's `match`). */
export const UPLINK_MAC = "52:54:00:dc:00:01";

/** A running guest. */
export class QemuGuest {
    readonly dir: string;
    readonly consolePath: string;
    private process: ChildProcess | undefined;
    private exited: string | undefined;

    private constructor(
        readonly name: string,
        /** 127.0.0.1 port forwarded to the guest's port 22. */
        readonly sshPort: number,
        dir: string,
    ) {
        this.dir = dir;
        this.consolePath = path.join(dir, "console.log");
    }

    /** Creates the overlay, the seed and the disks, and starts QEMU. */
    static async boot(options: GuestOptions): Promise<QemuGuest> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dc-vm-${options.name}-`));
        const guest = new QemuGuest(options.name, await freePort(), dir);
        try {
            guest.start(options);
        } catch (err) {
            guest.dispose();
            throw err;
        }
        return guest;
    }

    private start(options: GuestOptions): void {
        const { dir } = this;
        const image = options.image.dir;
        const overlay = path.join(dir, "root.qcow2");
        execFileSync("qemu-img", [
            "create",
            "-q",
            "-f",
            "qcow2",
            "-b",
            path.join(image, "root.raw"),
            "-F",
            "raw",
            overlay,
        ]);
        // NoCloud seed: a FAT file system labelled CIDATA holding the three files.
        const seedDir = path.join(dir, "seed");
        fs.mkdirSync(seedDir);
        const metaData = Object.entries(options.metaData)
            .map(([k, v]) => `${k}: ${v}\n`)
            .join("");
        fs.writeFileSync(path.join(seedDir, "meta-data"), metaData);
        fs.writeFileSync(path.join(seedDir, "user-data"), options.userData);
        fs.writeFileSync(path.join(seedDir, "network-config"), options.networkConfig);
        const seed = path.join(dir, "seed.img");
        execFileSync("mkfs.vfat", ["-n", "CIDATA", "-C", seed, "2048"], { stdio: "ignore" });
        execFileSync("mcopy", [
            "-i",
            seed,
            ...["meta-data", "user-data", "network-config"].map((f) => path.join(seedDir, f)),
            "::",
        ]);
        const args = [
            "-accel",
            "tcg",
            "-cpu",
            "qemu64",
            "-m",
            String(options.memoryMb ?? 1536),
            "-smp",
            "1",
            "-display",
            "none",
            "-no-reboot",
            "-serial",
            `file:${this.consolePath}`,
            "-monitor",
            "none",
            "-kernel",
            path.join(image, "vmlinuz"),
            "-initrd",
            path.join(image, "initrd.img"),
            "-append",
            DEBIAN_IMAGE_COMMAND_LINE,
            "-drive",
            `file=${overlay},if=virtio,format=qcow2`,
            "-drive",
            `file=${seed},if=virtio,format=raw,readonly=on`,
            "-netdev",
            `user,id=uplink,restrict=on,hostfwd=tcp:127.0.0.1:${this.sshPort}-:22`,
            "-device",
            `virtio-net-pci,netdev=uplink,mac=${UPLINK_MAC},romfile=`,
        ];
        for (const [i, disk] of (options.disks ?? []).entries()) {
            const file = path.join(dir, `disk${i}.qcow2`);
            execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", file, `${disk.sizeGb}G`]);
            args.push(
                "-drive",
                `file=${file},if=none,id=disk${i},format=qcow2`,
                "-device",
                `virtio-blk-pci,drive=disk${i},serial=${disk.serial}`,
            );
        }
        if (options.link) {
            const { port, listen, mac } = options.link;
            args.push(
                "-netdev",
                `socket,id=link,${listen ? "listen" : "connect"}=127.0.0.1:${port}`,
                "-device",
                `virtio-net-pci,netdev=link,mac=${mac},romfile=`,
            );
        }
        fs.writeFileSync(this.consolePath, "");
        const child = spawn("qemu-system-x86_64", args, {
            stdio: ["ignore", "ignore", "pipe"],
            detached: true,
        });
        let stderr = "";
        child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
        child.on("exit", (code, signal) => {
            this.exited = `QEMU exited (${signal ?? code}): ${stderr.trim()}`;
        });
        this.process = child;
    }

    /** The console log so far. */
    console(): string {
        return fs.readFileSync(this.consolePath, "utf8");
    }

    /** The last `lines` lines of the console, for a failure message. */
    consoleTail(lines = 60): string {
        return `--- console of ${this.name} (last ${lines} lines) ---\n${this.console()
            .split("\n")
            .slice(-lines)
            .join("\n")}`;
    }

    /** Waits until the console matches `pattern`; fails early if QEMU exits. */
    async waitConsole(what: string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
        return waitFor(
            `${this.name}: ${what}`,
            () => {
                if (this.exited) throw Object.assign(new Error(this.exited), { fatal: true });
                return this.console().match(pattern) ?? undefined;
            },
            { timeoutMs, intervalMs: 500 },
        );
    }

    /** Stops QEMU and removes the guest's files. */
    dispose(): void {
        const child = this.process;
        if (child?.pid !== undefined && this.exited === undefined) {
            try {
                process.kill(-child.pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
