/** Types for scenarios.mjs (plain JavaScript, so that Node runs it as it is). */
export interface Asserts {
  equal(a: unknown, b: unknown): void;
  ok(v: unknown, why?: string): void;
  rejects(p: Promise<unknown>, re: RegExp): Promise<void>;
}
export const scenarios: Record<string, (assert: Asserts) => Promise<void>>;
