/**
 * The project's built Debian 12 image for tests that boot real guests: the directory
 * scripts/image/build-debian.sh writes (cached by content), which `npm run image` uploads.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";

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
