/**
 * Deep-frozen values: objects that, with everything in them, can never change again. A spec
 * section shared by many containers (an engine's default seccomp profile, the same object in
 * every spec it writes) is frozen so that no one spec can change it under the others; and
 * because a frozen value can never thaw, what was checked or compiled from it once holds for
 * good, so the validator and the seccomp compiler may answer it from a memo by identity.
 */

/** Values known to be deep-frozen: a memo of a property no value loses once it has it. */
const known = new WeakSet<object>();

/** `value` and everything in it frozen (each object visited, even one frozen before). */
export function deepFreeze<T>(value: T): T {
  const freeze = (v: unknown, seen: Set<object>): void => {
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    Object.freeze(v);
    for (const member of Object.values(v)) freeze(member, seen);
  };
  freeze(value, new Set());
  return value;
}

/** Whether `value` is an object that, with everything in it, is frozen, and holds data members only. */
export function isDeepFrozen(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  const seen = new Set<object>();
  if (!frozenThrough(value, seen)) return false;
  // Only now: an object in a cycle is deep-frozen only if the whole cycle is.
  for (const v of seen) known.add(v);
  return true;
}

/** Whether value and what it holds are frozen; `seen` collects what was looked at, so a cycle ends. */
function frozenThrough(value: object, seen: Set<object>): boolean {
  if (known.has(value) || seen.has(value)) return true;
  if (!Object.isFrozen(value)) return false;
  seen.add(value);
  for (const d of Object.values(Object.getOwnPropertyDescriptors(value))) {
    // A getter could answer differently each time it is read: data members only.
    if (!("value" in d)) return false;
    const v: unknown = d.value;
    if (typeof v === "object" && v !== null && !frozenThrough(v, seen)) return false;
  }
  return true;
}
