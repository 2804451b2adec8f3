/** system df's arithmetic: du's blocks (hard links and shared inodes once, sparse files as allocated) and docker's size text. */
import { expect, test } from "bun:test";
import { linkSync, mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { du, humanSize, reclaimableText } from "../../src/engine/df.ts";

test("humanSize: go-units' decimal units with 4 significant digits", () => {
  expect(humanSize(0)).toBe("0B");
  expect(humanSize(999)).toBe("999B");
  expect(humanSize(1000)).toBe("1kB");
  expect(humanSize(16430)).toBe("16.43kB");
  expect(humanSize(1_200_000)).toBe("1.2MB");
  expect(humanSize(4_182_016)).toBe("4.182MB");
  expect(humanSize(3_464_000_000)).toBe("3.464GB");
});

test("reclaimableText: the percentage of the total, truncated; no total, no percentage", () => {
  expect(reclaimableText(1_579_000_000, 3_464_000_000)).toBe("1.579GB (45%)");
  expect(reclaimableText(71020, 71020)).toBe("71.02kB (100%)");
  expect(reclaimableText(0, 638_300_000)).toBe("0B (0%)");
  expect(reclaimableText(0, 0)).toBe("0B");
});

test("du: allocated blocks; a hard link, or an inode already counted by another call, counts once", () => {
  const dir = mkdtempSync(join(tmpdir(), "husk-du-"));
  try {
    mkdirSync(join(dir, "a"));
    writeFileSync(join(dir, "a", "f"), Buffer.alloc(64 * 1024, 1));
    const one = du(join(dir, "a", "f"));
    expect(one).toBe(statSync(join(dir, "a", "f")).blocks * 512);
    expect(one).toBeGreaterThanOrEqual(64 * 1024);
    const before = du(dir);
    linkSync(join(dir, "a", "f"), join(dir, "a", "g"));
    expect(du(dir)).toBe(before);
    // A sparse file counts what it holds, not its length.
    writeFileSync(join(dir, "a", "sparse"), "");
    truncateSync(join(dir, "a", "sparse"), 100 * 1024 * 1024);
    expect(du(join(dir, "a", "sparse"))).toBeLessThan(1024 * 1024);
    // Shared across calls: the second sees the file already counted.
    const seen = new Set<string>();
    expect(du(join(dir, "a", "f"), seen)).toBe(one);
    expect(du(join(dir, "a", "g"), seen)).toBe(0);
    expect(du(join(dir, "missing"))).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
