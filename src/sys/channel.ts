/**
 * The husk side of a helper's sync channel, the same on Bun and Node: whole messages read
 * asynchronously (never blocking the event loop), writes that wait when the socket is full.
 */
export interface Channel {
  /** Exactly n bytes, or null at EOF (fewer than n left). */
  read(n: number): Promise<Buffer | null>;
  write(data: Uint8Array): Promise<void>;
  /** Idempotent. */
  close(): void;
}

/** A Channel over any source of chunks: buffers what arrives until a read can be answered. */
export class ChunkChannel implements Channel {
  private buffered: Buffer[] = [];
  private size = 0;
  private ended = false;
  private failed: Error | undefined;
  private wake: (() => void) | undefined;

  /**
   * `start`, if given, begins feeding the channel at its first read: a channel nobody reads yet
   * (a spare helper's) has no read pending, which would keep Bun's process alive.
   */
  constructor(
    private readonly writer: (data: Uint8Array) => Promise<void>,
    private readonly closer: () => void,
    private start?: () => void,
  ) {}

  /** Feed a chunk from the source. */
  push(chunk: Uint8Array): void {
    this.buffered.push(Buffer.from(chunk));
    this.size += chunk.length;
    this.wake?.();
  }

  /** The source ended (or failed). */
  end(err?: Error): void {
    this.ended = true;
    this.failed ??= err;
    this.wake?.();
  }

  async read(n: number): Promise<Buffer | null> {
    if (this.start) {
      const start = this.start;
      this.start = undefined;
      start();
    }
    while (this.size < n) {
      if (this.failed) throw this.failed;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    const all = this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.size = rest.length;
    return out;
  }

  write(data: Uint8Array): Promise<void> {
    return this.writer(data);
  }

  private closed = false;

  /** A read waiting when the channel is closed here gets EOF (null), as it would from the other end. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closer();
    this.end();
  }
}
