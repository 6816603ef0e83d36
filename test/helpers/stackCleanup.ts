/**
 * What a deployment test leaves to clean up, in one place: the stack's resources (`pulumi
 * destroy` when the state still holds any), its protected `/data` volume, the user's key pair
 * in Nova, and the workspace (kept when DC_KEEP_TEST_DIRS=1).
 */
import { rmSync } from "node:fs";
import type { Session } from "../../lib/openstack";
import { type PulumiWorkspace, readStackResources, stackStatePath } from "./pulumiCli";

/** Removes what a deployment test made; each part is skipped when it was never made. */
export async function tearDownDeployment(options: {
    workspace?: PulumiWorkspace;
    stack: string;
    keyName?: string;
    session: Session;
    destroyTimeoutMs?: number;
    /** Stops what the test ran inside the workspace, after the destroy, before its removal. */
    stop?: () => void;
}): Promise<void> {
    const { workspace, stack, keyName, session } = options;
    if (workspace) {
        let leftover = false;
        try {
            leftover =
                readStackResources(stackStatePath(workspace.stateDir, "dynamic-cluster", stack))
                    .length > 0;
        } catch {
            leftover = false;
        }
        if (leftover) {
            await workspace.pulumi(["destroy", "--yes", "--skip-preview"], {
                timeoutMs: options.destroyTimeoutMs,
            });
        }
        const volumes = (
            await session.request("volumev3", {
                method: "GET",
                path: `/volumes?name=${stack}-data`,
            })
        ).json as { volumes: Array<{ id: string }> };
        for (const volume of volumes.volumes) {
            await session.request("volumev3", { method: "DELETE", path: `/volumes/${volume.id}` });
        }
    }
    if (keyName) {
        await session
            .request("compute", { method: "DELETE", path: `/os-keypairs/${keyName}` })
            .catch(() => undefined);
    }
    options.stop?.();
    if (workspace && process.env["DC_KEEP_TEST_DIRS"] !== "1") {
        rmSync(workspace.root, { recursive: true, force: true });
    } else if (workspace) {
        console.log(`kept ${workspace.root} (transcript: ${workspace.transcript})`);
    }
}
