/**
 * `lib/openstack/index.ts` is only the barrel of the shared OpenStack client: it re-exports its
 * modules and defines nothing of its own, so no helper can sit there unused (the provider and the
 * service each build their `ComputeClient` from a `Session` themselves).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as barrel from "../../lib/openstack";
import * as compute from "../../lib/openstack/compute";
import * as credentials from "../../lib/openstack/credentials";
import * as errors from "../../lib/openstack/errors";
import * as http from "../../lib/openstack/http";
import * as images from "../../lib/openstack/images";
import * as session from "../../lib/openstack/session";

const names = (module: object): string[] =>
    Object.keys(module).filter((name) => name !== "__esModule" && name !== "default");

describe("lib/openstack/index.ts", () => {
    it("exports exactly what its modules export", () => {
        const parts = [compute, credentials, errors, http, images, session].flatMap(names);
        assert.deepEqual(
            names(barrel).filter((name) => !parts.includes(name)),
            [],
        );
        assert.deepEqual(
            parts.filter((name) => !names(barrel).includes(name)),
            [],
        );
    });
});
