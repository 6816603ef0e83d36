/**
 * The service's `/status` as the fault tests read it (autoscaler/api: breaker, backoffs, nodes
 * kept out of use, errors).
 */
import type { ServiceHarness } from "./serviceHarness";

/** The parts of `/status` the fault tests assert on. */
export interface ServiceStatus {
    breaker: { open: boolean; consecutiveFailures: number; reason?: string };
    backoffs: Record<string, { until: number; reason: string }>;
    unavailable: Record<string, { cause: string; reason: string }>;
    errors: Record<string, { message: string }>;
}

/** GET /status through the harness's authenticated API. */
export async function serviceStatus(h: ServiceHarness): Promise<ServiceStatus> {
    return (await h.api("GET", "/status")) as ServiceStatus;
}
