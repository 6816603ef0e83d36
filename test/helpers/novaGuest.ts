/**
 * Real guests through the local OpenStack's own services (test/env/openstack/up.sh's real-guest
 * host osbox-qemu): a project network as a user makes one (DHCP, a router to the external
 * network dc-vm-public, a security group, a key pair), servers Nova's libvirt driver boots under
 * QEMU on it with floating IPs this machine reaches, their console logs as Nova serves them, and
 * volumes attached through Nova. Everything is created through the project's OpenStack client
 * and deleted again by {@link GuestNetwork.dispose} (servers and floating IPs first).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import type { ComputeClient, Session } from "../../lib/openstack";
import { uploadImageDir } from "../../scripts/image/upload";
import { adminSession } from "./osbox";
import { waitFor } from "./waitFor";

/** The flavor that runs only on the real-guest host (1 vCPU, 1.5 GiB, 8 GB). */
const GUEST_FLAVOR = "dc.vm";
/** The same with 2 GiB, for a head node. */
export const GUEST_FLAVOR_LARGE = "dc.vm.large";
/** The external network of real guests (a bridge of this machine). */
const GUEST_EXTERNAL_NETWORK = "dc-vm-public";

/**
 * The directory of the built Debian 12 image: DC_IMAGE_DEBIAN (test/run.sh builds it in the
 * background), else built now (cached by content).
 */
export function builtImageDir(): string {
    return (
        process.env["DC_IMAGE_DEBIAN"] ||
        execFileSync("bash", [path.resolve(__dirname, "../../scripts/image/build-debian.sh")], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
        }).trim()
    );
}

/** The built image's ID in the local Glance, uploaded as `npm run image` does (or reused). */
export async function builtImageId(nova: ComputeClient): Promise<string> {
    return (await uploadImageDir(nova.session, builtImageDir())).image.id;
}

/** A Neutron call; returns the parsed body. */
async function neutron(
    session: Session,
    method: "GET" | "POST" | "PUT" | "DELETE",
    apiPath: string,
    body?: unknown,
): Promise<Record<string, unknown>> {
    const response = await session.request("network", { method, path: apiPath, body });
    return (response.json ?? {}) as Record<string, unknown>;
}

/** What {@link GuestNetwork.boot} boots. */
export interface GuestBoot {
    name: string;
    imageId: string;
    /** The cloud-config text. */
    userData: string;
    flavor?: string;
}

/** A running server with its floating IP. */
export interface Guest {
    name: string;
    id: string;
    /** Its address on the project network (DHCP). */
    fixedIp: string;
    /** Its floating IP on the external network (this machine reaches it). */
    floatingIp: string;
    /** Seconds from the create call to ACTIVE. */
    secondsToActive: number;
}

/** A project network with a router, a security group and a key pair, for real guests. */
export class GuestNetwork {
    private readonly cleanup: Array<() => Promise<unknown>> = [];
    networkId = "";
    externalId = "";
    /** This machine's range on the external network (where SSH comes from). */
    hostRange = "";

    private constructor(
        readonly nova: ComputeClient,
        /** Names everything this network holds; also the servers' tag. */
        readonly tag: string,
        readonly cidr: string,
    ) {}

    private get session(): Session {
        return this.nova.session;
    }

    /**
     * Creates the network, its subnet (DHCP on) and router, a security group (SSH and HTTPS from
     * this machine, everything between its members) and a key pair of `publicKey`.
     */
    static async create(
        nova: ComputeClient,
        cidr: string,
        publicKey: string,
    ): Promise<GuestNetwork> {
        const net = new GuestNetwork(nova, `dcvm${randomBytes(3).toString("hex")}`, cidr);
        try {
            await net.build(publicKey);
        } catch (err) {
            await net.dispose();
            throw err;
        }
        return net;
    }

    private async build(publicKey: string): Promise<void> {
        const { session, tag } = this;
        await session.request("compute", {
            method: "POST",
            path: "/os-keypairs",
            body: { keypair: { name: tag, public_key: publicKey } },
        });
        this.cleanup.push(() =>
            session.request("compute", { method: "DELETE", path: `/os-keypairs/${tag}` }),
        );
        const network = (await neutron(session, "POST", "/v2.0/networks", {
            network: { name: tag },
        })) as { network: { id: string } };
        this.networkId = network.network.id;
        this.cleanup.push(() => neutron(session, "DELETE", `/v2.0/networks/${this.networkId}`));
        const subnet = (await neutron(session, "POST", "/v2.0/subnets", {
            subnet: {
                name: tag,
                network_id: this.networkId,
                ip_version: 4,
                cidr: this.cidr,
                enable_dhcp: true,
            },
        })) as { subnet: { id: string } };
        const external = (await neutron(
            session,
            "GET",
            `/v2.0/networks?name=${GUEST_EXTERNAL_NETWORK}`,
        )) as { networks: Array<{ id: string }> };
        this.externalId = external.networks[0]!.id;
        // An admin's read: a project does not see the subnets of another project's network.
        const externalSubnets = (await neutron(
            adminSession(),
            "GET",
            `/v2.0/subnets?network_id=${this.externalId}`,
        )) as { subnets: Array<{ cidr: string }> };
        this.hostRange = externalSubnets.subnets[0]!.cidr;
        const router = (await neutron(session, "POST", "/v2.0/routers", {
            router: { name: tag, external_gateway_info: { network_id: this.externalId } },
        })) as { router: { id: string } };
        const routerId = router.router.id;
        this.cleanup.push(() => neutron(session, "DELETE", `/v2.0/routers/${routerId}`));
        await neutron(session, "PUT", `/v2.0/routers/${routerId}/add_router_interface`, {
            subnet_id: subnet.subnet.id,
        });
        this.cleanup.push(() =>
            neutron(session, "PUT", `/v2.0/routers/${routerId}/remove_router_interface`, {
                subnet_id: subnet.subnet.id,
            }),
        );
        const group = (await neutron(session, "POST", "/v2.0/security-groups", {
            security_group: { name: tag, description: "test guests" },
        })) as { security_group: { id: string } };
        const groupId = group.security_group.id;
        this.cleanup.push(() => neutron(session, "DELETE", `/v2.0/security-groups/${groupId}`));
        const rules = [
            {
                protocol: "tcp",
                port_range_min: 22,
                port_range_max: 22,
                remote_ip_prefix: this.hostRange,
            },
            {
                protocol: "tcp",
                port_range_min: 443,
                port_range_max: 443,
                remote_ip_prefix: this.hostRange,
            },
            { remote_group_id: groupId },
        ];
        for (const rule of rules) {
            await neutron(session, "POST", "/v2.0/security-group-rules", {
                security_group_rule: {
                    security_group_id: groupId,
                    direction: "ingress",
                    ethertype: "IPv4",
                    ...rule,
                },
            });
        }
    }

    /** Boots a server on this network, waits for ACTIVE and gives it a floating IP. */
    async boot(request: GuestBoot): Promise<Guest> {
        const { nova, session, tag } = this;
        const started = Date.now();
        const id = await nova.createServer({
            name: request.name,
            flavorId: await nova.flavorId(request.flavor ?? GUEST_FLAVOR),
            imageId: request.imageId,
            networkIds: [this.networkId],
            securityGroups: [tag],
            keyName: tag,
            userData: Buffer.from(request.userData).toString("base64"),
            tags: ["dc", tag],
        });
        this.cleanup.push(async () => {
            await nova.deleteServer(id);
            await nova.waitForDeleted([id], [tag], Date.now() + 300_000);
        });
        const booted = (await nova.waitForBoot([id], [tag], Date.now() + 600_000)).get(id);
        if (booted?.status !== "ACTIVE") {
            throw new Error(
                `${request.name} (${id}) is ${booted?.status ?? "gone"}: ${booted?.fault ?? ""}`,
            );
        }
        const secondsToActive = (Date.now() - started) / 1000;
        const ports = (await neutron(session, "GET", `/v2.0/ports?device_id=${id}`)) as {
            ports: Array<{ id: string }>;
        };
        const floating = (await neutron(session, "POST", "/v2.0/floatingips", {
            floatingip: { floating_network_id: this.externalId, port_id: ports.ports[0]!.id },
        })) as { floatingip: { id: string; floating_ip_address: string } };
        this.cleanup.push(() =>
            neutron(session, "DELETE", `/v2.0/floatingips/${floating.floatingip.id}`),
        );
        const guest: Guest = {
            name: request.name,
            id,
            fixedIp: booted.address!,
            floatingIp: floating.floatingip.floating_ip_address,
            secondsToActive,
        };
        return guest;
    }

    /** The console log Nova serves. */
    console(guest: Guest): Promise<string> {
        return this.nova.consoleOutput(guest.id);
    }

    /** The end of the console log, for a failure message. */
    async consoleTail(guest: Guest, lines = 60): Promise<string> {
        const text = await this.console(guest).catch(
            (err: unknown) => `(no console: ${String(err)})`,
        );
        return `--- console of ${guest.name} (last ${lines} lines) ---\n${text
            .split("\n")
            .slice(-lines)
            .join("\n")}`;
    }

    /** Waits until the console matches `pattern`. */
    waitConsole(
        guest: Guest,
        what: string,
        pattern: RegExp,
        timeoutMs: number,
    ): Promise<RegExpMatchArray> {
        return waitFor(
            `${guest.name}: ${what}`,
            async () => (await this.console(guest)).match(pattern) ?? undefined,
            { timeoutMs, intervalMs: 5_000 },
        );
    }

    /** A volume's status. */
    async volumeStatus(volumeId: string): Promise<string> {
        const response = await this.session.request("volumev3", {
            method: "GET",
            path: `/volumes/${volumeId}`,
        });
        return (response.json as { volume: { status: string } }).volume.status;
    }

    /**
     * Creates a volume of `type` and attaches it to `guest` through Nova; waits until Cinder says
     * in use. Detached and deleted by {@link dispose}, before the guest goes.
     */
    async attachNewVolume(guest: Guest, sizeGb: number, type: string): Promise<string> {
        const { session } = this;
        const created = (
            await session.request("volumev3", {
                method: "POST",
                path: "/volumes",
                body: { volume: { name: this.tag, size: sizeGb, volume_type: type } },
            })
        ).json as { volume: { id: string } };
        const volumeId = created.volume.id;
        this.cleanup.push(async () => {
            if ((await this.volumeStatus(volumeId)) === "in-use") {
                await session.request("compute", {
                    method: "DELETE",
                    path: `/servers/${guest.id}/os-volume_attachments/${volumeId}`,
                });
            }
            // In use, then "detaching", then available: Cinder deletes only the last (or an
            // error state).
            await waitFor(
                `volume ${volumeId} detached`,
                async () => {
                    const status = await this.volumeStatus(volumeId);
                    return status === "available" || status.startsWith("error") ? true : undefined;
                },
                { timeoutMs: 300_000, intervalMs: 1000 },
            );
            await session.request("volumev3", { method: "DELETE", path: `/volumes/${volumeId}` });
        });
        await this.waitVolume(volumeId, "available", 120_000);
        await session.request("compute", {
            method: "POST",
            path: `/servers/${guest.id}/os-volume_attachments`,
            body: { volumeAttachment: { volumeId } },
        });
        await this.waitVolume(volumeId, "in-use", 300_000);
        return volumeId;
    }

    private waitVolume(volumeId: string, status: string, timeoutMs: number): Promise<string> {
        return waitFor(
            `volume ${volumeId} ${status}`,
            async () => {
                const now = await this.volumeStatus(volumeId);
                if (now.startsWith("error")) {
                    throw Object.assign(new Error(`volume ${volumeId} is ${now}`), { fatal: true });
                }
                return now === status ? now : undefined;
            },
            { timeoutMs, intervalMs: 1000 },
        );
    }

    /** Deletes everything, newest first; reports what could not be deleted and goes on. */
    async dispose(): Promise<void> {
        for (const step of this.cleanup.splice(0).reverse()) {
            try {
                await step();
            } catch (err) {
                console.error(`# clean-up of ${this.tag}: ${String(err)}`);
            }
        }
    }
}
