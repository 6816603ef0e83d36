/**
 * Metric path components in Graphite: what the service writes to carbon
 * (autoscaler/infra/carbon.ts, autoscaler/salt/bridge.ts) and what the dashboard page asks
 * Graphite for (autoscaler/dashboard/page/main.ts) come from this one function.
 */

/** Characters allowed in one metric path component; anything else becomes `_`. */
export function metricComponent(text: string): string {
    return text.replace(/[^A-Za-z0-9_-]/g, "_");
}
