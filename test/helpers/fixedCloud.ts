/**
 * The replay tests' simulated cloud with fixed timings, so their figures can be derived by hand:
 * boots take exactly 100 s to ACTIVE and 20 s more to be usable; deletes 10 s.
 */
import type { CloudModel } from "../../replay/model";

/** Fixed boot, configure and delete times; no failures. */
export const FIXED_CLOUD: CloudModel = {
    bootMedian: 100,
    bootP95: 100,
    configureMedian: 20,
    configureP95: 20,
    deleteTime: 10,
    failureRate: 0,
    suspendTimeout: 120,
};

/** Create call to usable in {@link FIXED_CLOUD}, s. */
export const FIXED_BOOT = 120;

/** A faster fixed cloud: boots take exactly 20 s to ACTIVE and 10 s more to register; deletes 5 s. */
export const SHORT_BOOT_CLOUD: CloudModel = {
    bootMedian: 20,
    bootP95: 20,
    configureMedian: 10,
    configureP95: 10,
    deleteTime: 5,
    failureRate: 0,
    suspendTimeout: 120,
};
