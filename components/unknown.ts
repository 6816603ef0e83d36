/**
 * Unknown input values in dynamic providers. During `pulumi preview` an input that depends on a
 * resource not yet created (a server's address, a generated key) reaches the provider's `check`
 * as this sentinel string (the dynamic-provider host's `rpc.unknownValue`); validation must let it
 * pass and check it when the real value arrives at `pulumi up`.
 *
 * Dependency-free: serialized by value into the dynamic providers.
 */

/** The value the dynamic-provider host gives `check` for an input not known yet. */
export const UNKNOWN_INPUT = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when a value (or any value inside it) is not known yet. */
export function containsUnknown(value: unknown): boolean {
    if (value === UNKNOWN_INPUT) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (value !== null && typeof value === "object") {
        return Object.values(value as Record<string, unknown>).some(containsUnknown);
    }
    return false;
}
