/**
 * Glance: uploads the project's built image (scripts/image/build-debian.sh) as Nova boots it —
 * the kernel and the initramfs as their own images (`aki`/`ari`), the root file system as a
 * QCOW2 image whose properties name them (`kernel_id`, `ramdisk_id`, `os_command_line`), the
 * way Nova's libvirt driver boots an image without a boot loader. An image already uploaded
 * with the same content hash is reused; an upload that fails removes what it created.
 */
import type { RetryPolicy } from "./http";
import { OpenStackApiError } from "./errors";
import type { Session } from "./session";

/** A Glance image, as far as the upload reads it. */
export interface GlanceImage {
    id: string;
    name: string;
    status: string;
    [property: string]: unknown;
}

/** The files of a built image and what to call it. */
export interface BuiltImage {
    /** Glance name of the root image; the kernel and initramfs get `-kernel` / `-initrd`. */
    name: string;
    /** Content hash of the build, stored as the `dc_image_hash` property. */
    hash: string;
    kernelPath: string;
    initrdPath: string;
    /** The root file system as QCOW2. */
    rootQcow2Path: string;
    /** The kernel command line. */
    commandLine: string;
    /** More properties of the root image (e.g. os_distro). */
    properties?: Record<string, string>;
    visibility?: "private" | "shared" | "community" | "public";
}

/** Progress messages. */
export type UploadLog = (message: string) => void;

/** An upload of gigabytes: one attempt, an hour at most. */
const UPLOAD_POLICY: RetryPolicy = {
    attempts: 1,
    baseDelayMs: 0,
    maxDelayMs: 0,
    timeoutMs: 3_600_000,
};

/** Images of this name that are active, in this project's view of Glance. */
export async function activeImagesNamed(session: Session, name: string): Promise<GlanceImage[]> {
    const response = await session.request("image", {
        method: "GET",
        path: `/v2/images?name=${encodeURIComponent(name)}&status=active`,
    });
    return (response.json as { images: GlanceImage[] }).images;
}

async function createImage(session: Session, fields: Record<string, unknown>): Promise<string> {
    const response = await session.request("image", {
        method: "POST",
        path: "/v2/images",
        body: fields,
    });
    return (response.json as GlanceImage).id;
}

async function waitActive(session: Session, id: string, timeoutMs = 600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const response = await session.request("image", {
            method: "GET",
            path: `/v2/images/${id}`,
        });
        const status = (response.json as GlanceImage).status;
        if (status === "active") return;
        if (status === "killed" || status === "deleted" || status === "deactivated")
            throw new Error(`Glance image ${id} became ${status} after its upload.`);
        if (Date.now() > deadline)
            throw new Error(
                `Glance image ${id} is still ${status} ${timeoutMs / 1000} s after its upload.`,
            );
        await new Promise((resolve) => setTimeout(resolve, 1000));
    }
}

async function uploadOne(
    session: Session,
    fields: Record<string, unknown>,
    file: string,
    created: string[],
): Promise<string> {
    const id = await createImage(session, fields);
    created.push(id);
    await session.request("image", {
        method: "PUT",
        path: `/v2/images/${id}/file`,
        upload: { path: file, contentType: "application/octet-stream" },
        retry: UPLOAD_POLICY,
    });
    await waitActive(session, id);
    return id;
}

/**
 * Uploads the image unless an active one of that name holds the same content hash.
 *
 * @returns the root image (its `id` goes into `headNode.image` / `workers.image`) and whether
 *   it was uploaded now.
 * @throws when Glance refuses the images; what this call created is deleted first.
 */
export async function uploadBuiltImage(
    session: Session,
    image: BuiltImage,
    log: UploadLog = () => {},
): Promise<{ image: GlanceImage; uploaded: boolean }> {
    const existing = (await activeImagesNamed(session, image.name)).filter(
        (i) => i["dc_image_hash"] === image.hash,
    );
    if (existing.length > 0) {
        log(`Glance already has ${image.name} (${existing[0]!.id}) of this build`);
        return { image: existing[0]!, uploaded: false };
    }
    const visibility = image.visibility ?? "private";
    const created: string[] = [];
    try {
        // The kernel and the initramfs: images of their own, which the root image names.
        const bootFile = (suffix: string, format: "aki" | "ari", file: string) => {
            log(`uploading ${file} as ${image.name}-${suffix}`);
            return uploadOne(
                session,
                {
                    name: `${image.name}-${suffix}`,
                    container_format: format,
                    disk_format: format,
                    visibility,
                    dc_image_hash: image.hash,
                },
                file,
                created,
            );
        };
        const kernelId = await bootFile("kernel", "aki", image.kernelPath);
        const ramdiskId = await bootFile("initrd", "ari", image.initrdPath);
        log(`uploading the root file system as ${image.name}`);
        const rootId = await uploadOne(
            session,
            {
                name: image.name,
                container_format: "bare",
                disk_format: "qcow2",
                visibility,
                kernel_id: kernelId,
                ramdisk_id: ramdiskId,
                os_command_line: image.commandLine,
                dc_image_hash: image.hash,
                ...image.properties,
            },
            image.rootQcow2Path,
            created,
        );
        const response = await session.request("image", {
            method: "GET",
            path: `/v2/images/${rootId}`,
        });
        return { image: response.json as GlanceImage, uploaded: true };
    } catch (err) {
        for (const id of created.reverse()) {
            try {
                await session.request("image", { method: "DELETE", path: `/v2/images/${id}` });
            } catch (cleanup) {
                if (!(cleanup instanceof OpenStackApiError && cleanup.status === 404))
                    log(`could not delete the partial image ${id}: ${String(cleanup)}`);
            }
        }
        throw err;
    }
}
