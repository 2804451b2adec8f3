/**
 * A container's standard streams as run, exec and start -a give them to a library caller:
 * stdout and stderr collected, stdin fed, and the exit status's signal named.
 */
import type { HelperStdio } from "../sys/index.ts";
import type { RunOptions } from "./options.ts";

/** The signal's name when an exit status says one ended the process (128+N, docker's convention). */
export function signalName(code: number): string | undefined {
  if (code <= 128 || code > 128 + 64) return undefined;
  const os = process.getBuiltinModule("node:os") as typeof import("node:os");
  return Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0];
}

async function collect(stream: AsyncIterable<Uint8Array> | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function feed(stdin: HelperStdio["stdin"], input: RunOptions["stdin"]): Promise<void> {
  if (!stdin) return;
  try {
    if (typeof input === "string") await stdin.write(Buffer.from(input));
    else if (input instanceof Uint8Array) await stdin.write(input);
    else if (input) for await (const c of input) await stdin.write(typeof c === "string" ? Buffer.from(c) : c);
  } finally {
    stdin.end();
  }
}

/** The container's stdout and stderr collected and its stdin fed, when the runtime makes them pipes. */
export function captureStdio(input: RunOptions["stdin"]) {
  let out: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  let err: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
  let fed: Promise<void> = Promise.resolve();
  return {
    onStdio(s: HelperStdio): void {
      out = collect(s.stdout);
      err = collect(s.stderr);
      fed = feed(s.stdin, input);
    },
    /** stdout and stderr once both ended (and stdin was fed, or failed to be). */
    async done(): Promise<[Buffer, Buffer]> {
      const [o, e] = await Promise.all([out, err, fed.catch(() => {})]);
      return [o, e];
    },
  };
}
