/**
 * The files the provisioning step writes on the head node before the state run: the generated
 * pillar and the Salt master's key pair, each with the owner, group and mode the head's states
 * give it (salt/dynamic_cluster/head/salt_master.sls), so writing them again on a later
 * `pulumi up` changes nothing the running salt-master (user `salt`) relies on:
 * - `/srv/pillar` is root:salt 0750; the pillar the master serves to workers (top, the public
 *   pillar, the cluster-wide secrets such as the munge key) root:salt 0640; the head-only secrets
 *   root:root 0600 (only the head's own `salt-call --local`, as root, reads them);
 * - `/etc/salt/pki/master` is salt:salt 0700, `master.pem` salt:salt 0400, `master.pub`
 *   salt:salt 0644.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Ownership, RemoteFile } from "./provisioner";

/** The pillar's directory (`pillar_roots: base` in the master's configuration). */
export const PILLAR_DIR = "/srv/pillar";

/** The Salt master's key directory. */
export const MASTER_PKI_DIR = "/etc/salt/pki/master";

const PILLAR_DIR_OWNERSHIP: Ownership = { owner: "root", group: "salt", mode: "0750" };
const PKI_DIR_OWNERSHIP: Ownership = { owner: "salt", group: "salt", mode: "0700" };

/** What goes into the files: the rendered pillar files by name, and the master's key pair. */
export interface HeadFileContents {
    /** The public pillar files by file name (top.sls, dynamic_cluster.sls). */
    publicPillar: pulumi.Input<Record<string, string>>;
    /** The secret pillar files by file name. */
    secretPillar: pulumi.Input<Record<string, string>>;
    masterPrivateKeyPem: pulumi.Input<string>;
    masterPublicKeyPem: pulumi.Input<string>;
}

/** The files the provisioner writes, in order, with their ownership. */
export function headNodeFiles(contents: HeadFileContents): RemoteFile[] {
    const pillarFile = (fileName: string, secret: boolean, served: boolean): RemoteFile => ({
        name: fileName.replace(/\.sls$/, "").replace(/_/g, "-"),
        path: `${PILLAR_DIR}/${fileName}`,
        ...(served
            ? { owner: "root", group: "salt", mode: "0640" }
            : { owner: "root", group: "root", mode: "0600" }),
        directory: PILLAR_DIR_OWNERSHIP,
        content: pulumi
            .output(secret ? contents.secretPillar : contents.publicPillar)
            .apply((files) => files[fileName]!),
        secret,
    });
    return [
        pillarFile("top.sls", false, true),
        pillarFile("dynamic_cluster.sls", false, true),
        pillarFile("dynamic_cluster_cluster_secrets.sls", true, true),
        pillarFile("dynamic_cluster_head_secrets.sls", true, false),
        {
            name: "salt-master-pem",
            path: `${MASTER_PKI_DIR}/master.pem`,
            owner: "salt",
            group: "salt",
            mode: "0400",
            directory: PKI_DIR_OWNERSHIP,
            content: contents.masterPrivateKeyPem,
            secret: true,
        },
        {
            name: "salt-master-pub",
            path: `${MASTER_PKI_DIR}/master.pub`,
            owner: "salt",
            group: "salt",
            mode: "0644",
            directory: PKI_DIR_OWNERSHIP,
            content: contents.masterPublicKeyPem,
            secret: false,
        },
    ];
}
