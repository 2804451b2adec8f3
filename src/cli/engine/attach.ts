/**
 * `husk attach`: this terminal on a running detached container (docker attach). The work is
 * Engine.attach; here the caller's terminal is wired to it: output to fds 1 and 2, stdin to the
 * container (with -i), raw mode and SIGWINCH's size with a terminal, signals passed on without
 * one (--sig-proxy). `start -a` uses the same wiring.
 */
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import type { AttachSession } from "../../engine/attach.ts";
import { HuskError } from "../../errors.ts";
import { forwardSignals } from "../forward-signals.ts";
import { flagMessage } from "./run.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

export interface TerminalOptions {
  /** The caller's stdin ending ends the container's (start -ai: docker's StdinOnce); attach leaves it open. */
  endStdin: boolean;
  /** Pass the signals husk gets to the container's init (pid), when it has no terminal. */
  sigProxy: boolean;
  pid: number;
}

/** Until the container exits (its status) or the detach keys are typed (0). */
export async function useTerminal(a: AttachSession, o: TerminalOptions): Promise<number> {
  const input = process.stdin;
  const raw = a.stdin !== null && a.tty && input.isTTY === true;
  const toFd = (s: Readable, out: NodeJS.WriteStream) => {
    // A reader that went away (`husk attach c | head -1`): leave, as docker does; the container runs on.
    out.once("error", () => a.detach());
    s.pipe(out, { end: false });
    return finished(s).catch(() => {});
  };
  const copied = Promise.all([toFd(a.stdout, process.stdout), toFd(a.stderr, process.stderr)]);
  const resize = () => a.resize(process.stdout.rows ?? 0, process.stdout.columns ?? 0);
  const sized = a.tty && process.stdout.isTTY === true;
  if (sized) {
    resize();
    process.on("SIGWINCH", resize);
  }
  const forwarder = !a.tty && o.sigProxy ? forwardSignals() : undefined;
  forwarder?.target(o.pid);
  try {
    if (a.stdin) {
      if (raw) input.setRawMode(true);
      input.pipe(a.stdin, { end: o.endStdin });
    }
    const end = await a.ended;
    await copied;
    return end.detached ? 0 : end.exitCode;
  } finally {
    forwarder?.stop();
    if (sized) process.off("SIGWINCH", resize);
    if (a.stdin) {
      input.unpipe(a.stdin);
      if (raw) input.setRawMode(false);
      input.pause();
      // Nothing more is read from it: the event loop must not wait on it.
      (input as { unref?: () => void }).unref?.();
      input.destroy();
    }
  }
}

const verb: EngineVerb = {
  name: "attach",
  usage: "[options] CONTAINER",
  summary: "attach this terminal to a running detached container (its output, and its stdin with -i)",
  flags: [
    { name: "detach-keys", type: "string", help: 'the keys that detach and leave it running (default "ctrl-p,ctrl-q")' },
    { name: "no-stdin", type: "bool", help: "do not send this terminal's input to the container" },
    { name: "sig-proxy", type: "bool", help: "pass the signals husk gets to the container, without a terminal (default true)" },
  ],
  async run(p, g) {
    const [ref] = needArgs(p, 1, "attach");
    if (p.positionals.length > 1) throw new HuskError(`"husk attach" requires exactly 1 argument`);
    const engine = await engineOf(g);
    const a = await engine
      .attach(ref!, { stdin: p.flags["no-stdin"] !== true, detachKeys: p.flags["detach-keys"] as string | undefined })
      .catch((err) => {
        throw flagMessage(err);
      });
    return useTerminal(a, { endStdin: false, sigProxy: p.flags["sig-proxy"] !== false, pid: engine.record(a.id).pid });
  },
};
export default verb;
