/**
 * flock(2) LOCK_EX taken without blocking the event loop, the same under Bun (libc through
 * bun:ffi) and Node (native/node-flock.c): tried with LOCK_NB, and while another process holds
 * the lock, tried again after 1, 2, 4 … 20 ms. Locks within one process take turns before
 * this (index.ts), so the waits are for other processes' holds only.
 */

/** flock(2)'s operations, as Linux numbers them on every architecture. */
export const LOCK_EX_NB = 2 | 4;
const EWOULDBLOCK = 11;

/** `tryLock(operation)` returns 0 once held, else the errno; any errno but EWOULDBLOCK fails as `fail` says. */
export async function waitForFlock(tryLock: (operation: number) => number, fail: (errno: number) => Error): Promise<void> {
  for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
    const code = tryLock(LOCK_EX_NB);
    if (code === 0) return;
    if (code !== EWOULDBLOCK) throw fail(code);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
