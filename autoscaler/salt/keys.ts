/**
 * The Salt master's minion keys, through its PKI directory (`/etc/salt/pki/master`): the same
 * renames `salt-key` performs (`minions_pre/<id>` -> `minions/<id>` to accept, ->
 * `minions_rejected/<id>` to reject), but an accept first checks that the pending key is
 * byte-for-byte the key the service decided on, so a key swapped in between can never be
 * accepted. Rename is atomic within one directory tree and keeps the file's owner (salt).
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";

/** The key directories Salt keeps. */
const DIRS = {
    accepted: "minions",
    pending: "minions_pre",
    rejected: "minions_rejected",
    denied: "minions_denied",
} as const;

/** Key states, by the directory the key is in. */
export type KeyState = keyof typeof DIRS;

/** IDs by key state. */
export type KeyListing = Record<KeyState, Set<string>>;

/** Why an accept did not happen. */
export class KeyError extends Error {
    override name = "KeyError";

    constructor(
        readonly code: "not-pending" | "mismatch" | "already-accepted" | "bad-id",
        message: string,
    ) {
        super(message);
    }
}

/** Minion IDs that are safe as file names (Salt's own IDs are a subset). */
const SAFE_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/**
 * True for an ID the key directory can hold: Salt refuses the others in authentication
 * (`../../etc/evil`, spaces, quotes), so they only arrive in forged events.
 */
export function isSafeMinionId(id: string): boolean {
    return SAFE_ID.test(id) && !id.includes("..");
}

/** A key in a canonical form for comparison: trimmed, Unix line ends. */
export function normalizeKey(pem: string): string {
    return pem.replace(/\r\n/g, "\n").trim();
}

/** SHA-256 (hex) of a public key's canonical form. */
export function keyDigest(pem: string): string {
    return createHash("sha256").update(normalizeKey(pem)).digest("hex");
}

/** The master's keys in `pkiDir`. */
export class SaltKeyStore {
    constructor(readonly pkiDir: string) {}

    private file(state: KeyState, id: string): string {
        if (!isSafeMinionId(id)) throw new KeyError("bad-id", `"${id}" is not a valid minion ID.`);
        return path.join(this.pkiDir, DIRS[state], id);
    }

    private async exists(file: string): Promise<boolean> {
        try {
            await fs.access(file);
            return true;
        } catch {
            return false;
        }
    }

    /** Every minion ID by key state (missing directories count as empty). */
    async list(): Promise<KeyListing> {
        const listing = {} as KeyListing;
        for (const [state, dir] of Object.entries(DIRS) as Array<[KeyState, string]>) {
            try {
                const names = await fs.readdir(path.join(this.pkiDir, dir));
                listing[state] = new Set(names.filter(isSafeMinionId));
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
                listing[state] = new Set();
            }
        }
        return listing;
    }

    /** The key of `id` in `state`, or undefined. */
    async read(state: KeyState, id: string): Promise<string | undefined> {
        try {
            return await fs.readFile(this.file(state, id), "utf8");
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
            throw err;
        }
    }

    /**
     * Accepts the pending key of `id` if, and only if, it is `expectedPub`.
     *
     * @throws KeyError when the key is not pending, differs, or one is already accepted.
     */
    async accept(id: string, expectedPub: string): Promise<void> {
        const accepted = this.file("accepted", id);
        if (await this.exists(accepted)) {
            throw new KeyError("already-accepted", `A key for ${id} is already accepted.`);
        }
        const pending = await this.read("pending", id);
        if (pending === undefined) {
            throw new KeyError("not-pending", `No pending key for ${id}.`);
        }
        if (normalizeKey(pending) !== normalizeKey(expectedPub)) {
            throw new KeyError(
                "mismatch",
                `The pending key of ${id} is not the key its auth request presented.`,
            );
        }
        await fs.mkdir(path.dirname(accepted), { recursive: true });
        await fs.rename(this.file("pending", id), accepted);
    }

    /** Moves a pending key of `id` to the rejected keys (nothing when none is pending). */
    async reject(id: string): Promise<boolean> {
        const pending = this.file("pending", id);
        if (!(await this.exists(pending))) return false;
        const rejected = this.file("rejected", id);
        await fs.mkdir(path.dirname(rejected), { recursive: true });
        await fs.rename(pending, rejected);
        return true;
    }

    /** Removes every key of `id` (the worker is gone; its ID is never used again). */
    async remove(id: string): Promise<void> {
        for (const state of Object.keys(DIRS) as KeyState[]) {
            await fs.rm(this.file(state, id), { force: true });
        }
    }
}
