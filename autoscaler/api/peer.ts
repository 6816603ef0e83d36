/**
 * Who is on the other end of a loopback TCP connection. Every caller of the local API connects
 * from 127.0.0.1, so the address cannot tell Slurm's programs, the Salt master, root and any other
 * local user apart; the user that owns the client socket can. Linux lists every TCP socket of the
 * network namespace with its owner's UID in /proc/net/tcp and /proc/net/tcp6 (readable by
 * anyone, as `ss -e` shows it): the client socket is the one whose local address is our peer's
 * address and whose remote address is ours.
 */
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { endianness } from "node:os";

/**
 * The address as /proc/net/tcp{,6} prints it: 32-bit words in host byte order, hex. An
 * IPv4-mapped address (a dual-stack listener's view of an IPv4 client) is the IPv4 socket's.
 */
function procAddress(address: string): string | undefined {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    const v4 = mapped ? mapped[1]! : address;
    let bytes: number[];
    if (isIPv4(v4)) {
        bytes = v4.split(".").map(Number);
    } else if (isIPv6(address) && !address.includes(".")) {
        const halves = address.split("::");
        const words = (s: string) => (s === "" ? [] : s.split(":"));
        const head = words(halves[0]!);
        const tail = halves.length === 2 ? words(halves[1]!) : [];
        const groups = [
            ...head,
            ...Array<string>(8 - head.length - tail.length).fill("0"),
            ...tail,
        ];
        bytes = groups.flatMap((g) => {
            const n = parseInt(g, 16);
            return [n >> 8, n & 255];
        });
    } else {
        return undefined;
    }
    const hex: string[] = [];
    for (let i = 0; i < bytes.length; i += 4) {
        const word = bytes.slice(i, i + 4);
        if (endianness() === "LE") word.reverse();
        hex.push(word.map((b) => b.toString(16).padStart(2, "0")).join(""));
    }
    return hex.join("").toUpperCase();
}

const port = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");

/**
 * The UID that owns the client end of `socket`, a connection accepted by this process, or
 * undefined when it cannot be told (not Linux, not a local peer, the socket gone).
 */
export function peerUid(socket: {
    remoteAddress?: string;
    remotePort?: number;
    localAddress?: string;
    localPort?: number;
}): number | undefined {
    const { remoteAddress, remotePort, localAddress, localPort } = socket;
    if (!remoteAddress || !remotePort || !localAddress || !localPort) return undefined;
    const peer = procAddress(remoteAddress);
    const self = procAddress(localAddress);
    if (!peer || !self) return undefined;
    // The client socket: its local address is our peer, its remote address is us.
    const wanted = `${peer}:${port(remotePort)} ${self}:${port(localPort)}`;
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        let text: string;
        try {
            text = readFileSync(table, "latin1");
        } catch {
            continue;
        }
        for (const line of text.split("\n").slice(1)) {
            const fields = line.trim().split(/\s+/);
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
            if (fields.length < 8) continue;
            if (`${fields[1]} ${fields[2]}` === wanted) {
                const uid = Number(fields[7]);
                return Number.isInteger(uid) ? uid : undefined;
            }
        }
    }
    return undefined;
}
