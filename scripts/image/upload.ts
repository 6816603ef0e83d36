/**
 * `npm run image` step two: uploads a built image (the directory build-debian.sh prints) to the
 * Glance of the cloud in the OS_* environment or OS_CLOUD's clouds.yaml entry, through the
 * project's OpenStack client, and prints the `pulumi config set` lines that use it.
 *
 * Usage: tsx scripts/image/upload.ts <image directory> [--name NAME] [--visibility private|shared|community|public]
 * Stdout: the `pulumi config set` lines only; progress on stderr. Reuses an image of the same
 * name and build hash; converts root.raw to QCOW2 once (cached beside it).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { uploadBuiltImage, type GlanceImage } from "../../lib/openstack/images";
import { resolveCredentials } from "../../lib/openstack/credentials";
import { Session } from "../../lib/openstack/session";
import { DEBIAN_IMAGE_COMMAND_LINE, DEBIAN_IMAGE_LOGIN } from "./bootParams";

const say = (message: string): void => {
    process.stderr.write(`scripts/image/upload.ts: ${message}\n`);
};

/** The build's hash: the directory's name is debian12-<hash> (build-debian.sh). */
function buildHash(dir: string): string {
    const match = /^debian12-([0-9a-f]{12})$/.exec(path.basename(dir));
    if (!match) {
        throw new Error(
            `${dir} is not a directory that scripts/image/build-debian.sh printed (debian12-<hash>).`,
        );
    }
    return match[1]!;
}

/** root.qcow2 beside root.raw, converted once (written aside, then renamed). */
function rootQcow2(dir: string): string {
    const raw = path.join(dir, "root.raw");
    const qcow2 = path.join(dir, "root.qcow2");
    if (fs.existsSync(qcow2) && fs.statSync(qcow2).mtimeMs >= fs.statSync(raw).mtimeMs)
        return qcow2;
    say("converting root.raw to QCOW2 (only the used blocks are uploaded)");
    const partial = `${qcow2}.partial`;
    execFileSync("qemu-img", ["convert", "-O", "qcow2", raw, partial], { stdio: "inherit" });
    fs.renameSync(partial, qcow2);
    return qcow2;
}

/** What {@link uploadImageDir} was asked for. */
export interface UploadOptions {
    /** Glance name; default dynamic-cluster-debian12-<build hash>. */
    name?: string;
    visibility?: "private" | "shared" | "community" | "public";
    log?: (message: string) => void;
}

/**
 * Uploads the image in `dir` (build-debian.sh's output) to the Glance of `session`, or reuses
 * an upload of the same build. @returns the root image and whether it was uploaded now.
 */
export async function uploadImageDir(
    session: Session,
    dir: string,
    options: UploadOptions = {},
): Promise<{ image: GlanceImage; uploaded: boolean }> {
    for (const file of ["root.raw", "vmlinuz", "initrd.img"]) {
        if (!fs.existsSync(path.join(dir, file))) {
            throw new Error(`${dir} has no ${file}: build the image first (npm run image).`);
        }
    }
    const hash = buildHash(path.resolve(dir));
    return uploadBuiltImage(
        session,
        {
            name: options.name ?? `dynamic-cluster-debian12-${hash}`,
            hash,
            kernelPath: path.join(dir, "vmlinuz"),
            initrdPath: path.join(dir, "initrd.img"),
            rootQcow2Path: rootQcow2(dir),
            commandLine: DEBIAN_IMAGE_COMMAND_LINE,
            properties: {
                os_distro: "debian",
                os_version: "12",
                os_admin_user: DEBIAN_IMAGE_LOGIN,
            },
            visibility: options.visibility ?? "private",
        },
        options.log,
    );
}

async function main(): Promise<void> {
    const { values, positionals } = parseArgs({
        allowPositionals: true,
        options: {
            name: { type: "string" },
            visibility: { type: "string", default: "private" },
        },
    });
    const dir = positionals[0];
    if (!dir || positionals.length > 1) {
        throw new Error("usage: tsx scripts/image/upload.ts <image directory> [--name NAME]");
    }
    const visibility = values.visibility;
    if (!["private", "shared", "community", "public"].includes(visibility)) {
        throw new Error(`--visibility ${visibility}: one of private, shared, community, public.`);
    }
    const { image, uploaded } = await uploadImageDir(new Session(resolveCredentials()), dir, {
        name: values.name,
        visibility: visibility as UploadOptions["visibility"],
        log: say,
    });
    say(`${uploaded ? "uploaded" : "reusing"} ${image.name} (${image.id}); to use it:`);
    process.stdout.write(
        [
            `pulumi config set --path headNode.image ${image.name}`,
            `pulumi config set --path workers.image ${image.name}`,
            `pulumi config set sshUser ${DEBIAN_IMAGE_LOGIN}`,
            "",
        ].join("\n"),
    );
}

if (require.main === module) {
    main().catch((err: unknown) => {
        say(err instanceof Error ? err.message : String(err));
        process.exit(1);
    });
}
