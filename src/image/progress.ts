/**
 * Pull progress as text, for a CLI: pure formatting, no I/O. A PullProgressView takes the
 * events pullImage reports and returns what to write (to stderr, say).
 *
 * On a terminal, one line per layer, redrawn in place (cursor up, clear line) as bytes arrive:
 *
 *   Pulling localhost:5000/app:1
 *   0b1e0d3f46a2: Pull complete
 *   5d3c1b9ee2f0: Downloading [=============>                ]  4.19MB/9.44MB
 *   9a7f26d4c0e1: Waiting
 *
 * Otherwise (a log, a pipe), one line per layer when it completes, and the summary.
 */
import { shortId } from "./oci.ts";
import type { LayerStatus, PullEvent } from "./pull.ts";

export interface LayerProgress {
  digest: `sha256:${string}`;
  status: LayerStatus;
  bytes: number;
  total: number;
  /** The store had it: it stays "Already exists" when done. */
  existed?: boolean;
}

/** Bytes as docker shows them (decimal units, 3 significant digits): 512B, 12.3kB, 4.19MB. */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = Math.max(0, n);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  if (u === 0) return `${Math.round(v)}B`;
  return `${Number(v.toPrecision(3))}${units[u]}`;
}

/** A bar of `width` cells between brackets: [=====>     ]. */
export function progressBar(bytes: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, bytes / total)) : 0;
  const filled = Math.floor(frac * width);
  const body = filled >= width ? "=".repeat(width) : `${"=".repeat(filled)}>${" ".repeat(width - filled - 1)}`;
  return `[${body}]`;
}

const STATUS_TEXT: Record<LayerStatus, string> = {
  waiting: "Waiting",
  downloading: "Downloading",
  exists: "Already exists",
  downloaded: "Download complete",
  extracting: "Extracting",
  done: "Pull complete",
};

/** One layer's line, cut to `columns` (a wrapped line would break the redraw). */
export function layerLine(l: LayerProgress, columns = 80): string {
  let text = `${shortId(l.digest)}: ${l.existed && l.status === "done" ? STATUS_TEXT.exists : STATUS_TEXT[l.status]}`;
  if (l.status === "downloading") {
    const amount = `${formatBytes(l.bytes)}/${formatBytes(l.total)}`;
    const room = columns - 1 - text.length - amount.length - 4;
    text += room >= 12 ? ` ${progressBar(l.bytes, l.total, Math.min(50, room))} ${amount}` : ` ${amount}`;
  }
  return text.length >= columns ? text.slice(0, Math.max(0, columns - 1)) : text;
}

export interface ProgressViewOptions {
  /** Redraw lines in place (a terminal), or write each layer once when it completes. */
  tty: boolean;
  /** The terminal's width. Default 80. */
  columns?: number;
}

const ESC = "\x1b[";

/** Turns pull events into text to write; keeps the layers' state, nothing else. */
export class PullProgressView {
  private readonly layers = new Map<string, LayerProgress>();
  private drawn = 0;
  private last = "";

  constructor(private readonly opts: ProgressViewOptions) {}

  /** The text to write for this event ("" when nothing changes on screen). */
  update(e: PullEvent): string {
    const columns = this.opts.columns ?? 80;
    if (e.type === "resolved") {
      for (const l of e.layers) {
        if (!this.layers.has(l.digest))
          this.layers.set(l.digest, { digest: l.digest, status: "waiting", bytes: 0, total: l.size });
      }
      const head = `Pulling ${e.ref}${e.platform ? ` (${e.platform})` : ""}\n`;
      return this.opts.tty ? head + this.redraw(columns) : head;
    }
    if (e.type === "done") {
      const tail = `Digest: ${e.digest}\nStatus: Downloaded ${e.tags.length ? e.tags.join(", ") : shortId(e.id)}\n`;
      return this.opts.tty ? this.redraw(columns) + tail : tail;
    }
    const prev = this.layers.get(e.digest);
    const l: LayerProgress = {
      digest: e.digest,
      status: e.status,
      bytes: e.bytes,
      total: e.total,
      existed: prev?.existed || e.status === "exists",
    };
    this.layers.set(e.digest, l);
    if (this.opts.tty) return this.redraw(columns);
    if (e.status === "done") {
      const size = l.existed ? "" : ` (${formatBytes(l.total)})`;
      return `${layerLine(l, Number.MAX_SAFE_INTEGER)}${size}\n`;
    }
    return "";
  }

  /** Move up over the block drawn last and draw it again (only when it changed). */
  private redraw(columns: number): string {
    const lines = [...this.layers.values()].map((l) => layerLine(l, columns));
    const text = lines.join("\n");
    if (text === this.last && this.drawn === lines.length) return "";
    this.last = text;
    const up = this.drawn > 0 ? `${ESC}${this.drawn}A\r` : "";
    this.drawn = lines.length;
    return up + lines.map((line) => `${ESC}2K${line}\n`).join("");
  }
}
