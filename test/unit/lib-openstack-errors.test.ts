/**
 * How `lib/openstack` classifies Nova's answers and server faults, on Nova's real texts. Each
 * text below is built from the format string in Nova's (or oslo.limit's) source, named next to
 * it (paths in github.com/openstack/nova unless said otherwise), with values as a real cloud
 * fills them in. The class decides what the service does: quota and capacity back the flavor
 * off, anything else is the worker's failure and counts toward the breaker.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
    type ApiErrorKind,
    apiMessageOf,
    errorKind,
    type ServerFaultKind,
    serverFaultKind,
} from "../../lib/openstack/errors";

const UUID = "5f1b7a52-3c1e-4d7e-9f0a-2b8c6d4e1a90";
const PROJECT = "8a7f3e1c2b4d4e6f9a0b1c2d3e4f5a6b";

/** ERROR servers' fault messages (`server.fault.message`) and what they mean. */
const FAULTS: Array<[source: string, fault: string, kind: ServerFaultKind]> = [
    // nova/exception.py TooManyInstances, raised by the conductor's quota recheck
    // (nova/conductor/manager.py schedule_and_build_instances -> _recheck_quota) when boots
    // race for the last slot; nova/compute/utils.py check_num_instances_quota formats it.
    [
        "TooManyInstances (instances)",
        "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances",
        "quota",
    ],
    [
        "TooManyInstances (cores)",
        "Quota exceeded for cores: Requested 2, but already used 20 of 20 cores",
        "quota",
    ],
    [
        "TooManyInstances (ram)",
        "Quota exceeded for ram: Requested 2048, but already used 51200 of 51200 ram",
        "quota",
    ],
    [
        // nova/compute/utils.py get_over_quota_detail joins several resources with ", "
        "TooManyInstances (cores and ram)",
        "Quota exceeded for cores, ram: Requested 2, 2048, but already used 20, 51200 of 20, 51200 cores, ram",
        "quota",
    ],
    // nova/exception.py OverQuota
    ["OverQuota", "Quota exceeded for resources: ['instances']", "quota"],
    // nova/compute/utils.py exception_to_dict: a non-Nova exception's fault message is its class
    // name; the recheck under unified limits raises oslo.limit's ProjectOverLimit.
    ["ProjectOverLimit (recheck, unified limits)", "ProjectOverLimit", "quota"],
    // nova/exception.py NoValidHost with nova/scheduler/manager.py's reason
    ["NoValidHost", "No valid host was found. There are not enough hosts available.", "capacity"],
    ["NoValidHost (no reason)", "No valid host was found. ", "capacity"],
    // nova/exception.py ComputeResourcesUnavailable (reason from nova/compute/claims.py); with
    // re-scheduling off, nova/compute/manager.py makes the RescheduledException's reason the
    // fault message.
    [
        "ComputeResourcesUnavailable",
        "Insufficient compute resources: Requested instance NUMA topology cannot fit the given host NUMA topology.",
        "capacity",
    ],
    // nova/scheduler/utils.py populate_retry: MaxRetriesExceeded naming the last exception
    [
        "MaxRetriesExceeded (scheduling attempts, last: no room)",
        `Exceeded maximum number of retries. Exceeded max scheduling attempts 3 for instance ${UUID}. Last exception: Insufficient compute resources: Requested instance NUMA topology cannot fit the given host NUMA topology.`,
        "capacity",
    ],
    [
        "MaxRetriesExceeded (scheduling attempts, last: a build error)",
        `Exceeded maximum number of retries. Exceeded max scheduling attempts 3 for instance ${UUID}. Last exception: Unexpected vif_type=binding_failed`,
        "other",
    ],
    // nova/exception.py MaxRetriesExceeded (a NoValidHost) with nova/conductor/manager.py's
    // reason: every host tried failed the build (a broken image, say). Not a quota, not room.
    [
        "MaxRetriesExceeded",
        `Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance ${UUID}.`,
        "other",
    ],
    // nova/exception.py BuildAbortException
    [
        "BuildAbortException",
        `Build of instance ${UUID} aborted: Image 0c7a0c4e-1c1e-4a3b-9c55-3a8a4c1c7e11 is unacceptable: Image has no associated data`,
        "other",
    ],
    [
        "BuildAbortException (volume)",
        `Build of instance ${UUID} aborted: Volume 7b0d5c1e-9a4e-4b0f-8f63-0a9c2e4d6f18 did not finish being created even after we waited 3 seconds or 1 attempts. And its status is error.`,
        "other",
    ],
    // nova/virt/libvirt/vif.py InternalError: the hypervisor's own failure
    ["InternalError", "Unexpected vif_type=binding_failed", "other"],
];

/** Error answers of the compute API: status, body and class. */
const ANSWERS: Array<[source: string, status: number, body: string, kind: ApiErrorKind]> = [
    // nova/api/openstack/compute/servers.py create: OverQuota -> HTTPForbidden(explanation=...)
    [
        "403 TooManyInstances",
        403,
        JSON.stringify({
            forbidden: {
                code: 403,
                message:
                    "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances",
            },
        }),
        "quota",
    ],
    [
        "403 TooManyInstances (cores)",
        403,
        JSON.stringify({
            forbidden: {
                code: 403,
                message: "Quota exceeded for cores: Requested 4, but already used 18 of 20 cores",
            },
        }),
        "quota",
    ],
    // nova/limit/placement.py enforce_num_instances_and_resources: TooManyInstances(str(e)) of
    // oslo.limit's ProjectOverLimit (openstack/oslo.limit: oslo_limit/exception.py)
    [
        "403 unified limits",
        403,
        JSON.stringify({
            forbidden: {
                code: 403,
                message: `Project ${PROJECT} is over a limit for [Resource servers is over limit of 10 due to current usage 10 and delta 1]`,
            },
        }),
        "quota",
    ],
    // nova/exception.py PortLimitExceeded (an OverQuota; Neutron's port quota at create time)
    [
        "403 PortLimitExceeded",
        403,
        JSON.stringify({ forbidden: { code: 403, message: "Maximum number of ports exceeded" } }),
        "quota",
    ],
    // nova/exception.py GroupMemberLimitExceeded, raised by nova/compute/api.py
    [
        "403 server group members",
        403,
        JSON.stringify({
            forbidden: { code: 403, message: "Quota exceeded, too many servers in group" },
        }),
        "quota",
    ],
    // oslo.policy's PolicyNotAuthorized as Nova words it (nova/exception.py PolicyNotAuthorized)
    [
        "403 policy",
        403,
        JSON.stringify({
            forbidden: {
                code: 403,
                message:
                    "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.",
            },
        }),
        "forbidden",
    ],
    // A 403 whose words merely contain "exceed" is not a quota.
    [
        "403 other",
        403,
        JSON.stringify({
            forbidden: {
                code: 403,
                message:
                    "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance x.",
            },
        }),
        "forbidden",
    ],
    // nova/exception.py OverQuota has code 413 (older microversions answer overLimit)
    ["413", 413, JSON.stringify({ overLimit: { code: 413, message: "x" } }), "quota"],
    ["429", 429, "", "rate-limited"],
    ["503", 503, "", "unavailable"],
    ["500", 500, "", "server"],
];

describe("Nova server faults", () => {
    for (const [source, fault, kind] of FAULTS) {
        it(`${source}: ${JSON.stringify(fault.slice(0, 60))} is ${kind}`, () => {
            assert.equal(serverFaultKind(fault), kind);
        });
    }
});

describe("compute API error answers", () => {
    for (const [source, status, body, kind] of ANSWERS) {
        it(`${source} is ${kind}`, () => {
            assert.equal(errorKind(status, apiMessageOf(body)), kind);
        });
    }
});
