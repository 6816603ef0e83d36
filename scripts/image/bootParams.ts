/**
 * How the image that scripts/image/build-debian.sh builds boots: it has no boot loader, so the
 * kernel and initramfs beside the root file system are booted directly, by Nova's libvirt
 * driver through the Glance properties that upload.ts sets.
 */

/** The kernel command line: the root by its label, the serial console as the console log. */
export const DEBIAN_IMAGE_COMMAND_LINE = "root=LABEL=dc-root rw console=ttyS0 net.ifnames=0";

/** The image's default login user (cloud-init's `default_user` on Debian). */
export const DEBIAN_IMAGE_LOGIN = "debian";
