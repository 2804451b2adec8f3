/**
 * What the prune verbs share: docker's question before removing ("[y/N]", read from stdin, so
 * without -f a script whose stdin is not answered removes nothing), and docker's report.
 */
import { readSync } from "node:fs";
import { humanSize } from "../../engine/df.ts";
import type { PruneReport } from "../../engine/system.ts";
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";

/** One line from stdin (without its newline); "" at end of input or when stdin cannot be read. */
function readLine(): string {
  const one = Buffer.alloc(1);
  let line = "";
  for (;;) {
    let n: number;
    try {
      n = readSync(0, one, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") continue;
      return line;
    }
    if (n === 0 || one[0] === 0x0a) return line;
    line += String.fromCharCode(one[0]!);
  }
}

/**
 * docker's confirmation: the warning and "Are you sure you want to continue? [y/N] " on stdout,
 * an answer of y or yes goes on. Anything else (end of input included) cancels: an error naming
 * the verb, so the exit status says nothing was removed.
 */
export function confirm(force: boolean, warning: string, verb: string): void {
  if (force) return;
  stdout(`${warning}\nAre you sure you want to continue? [y/N] `);
  const answer = readLine().trim().toLowerCase();
  if (answer !== "y" && answer !== "yes") throw new HuskError(`${verb} has been cancelled (use -f to skip the question)`);
}

/** The sections docker prints for what a prune removed, and the space freed (when asked). */
export function printPruned(r: PruneReport, total = true): void {
  const section = (title: string, lines: string[]) => {
    if (lines.length > 0) stdout(`${title}:\n${lines.map((l) => `${l}\n`).join("")}\n`);
  };
  section("Deleted Containers", r.containers);
  section("Deleted Networks", r.networks);
  section("Deleted Volumes", r.volumes);
  section("Deleted Images", [...r.images.untagged.map((t) => `untagged: ${t}`), ...r.images.deleted.map((d) => `deleted: ${d}`)]);
  if (total) stdout(`Total reclaimed space: ${humanSize(r.reclaimed)}\n`);
}
