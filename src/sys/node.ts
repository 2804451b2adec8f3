/**
 * The Node twins of bun.ts: child_process for the helper (its extra "pipe" is a socket stream),
 * the helper's --flock mode for flock(2). Node modules are fetched when
 * first used (process.getBuiltinModule), not at load.
 */
import type { ChildProcess } from "node:child_process";
import { ChunkChannel } from "./channel.ts";
import type { HelperProcess, HelperStdio, SpawnOptions } from "./index.ts";

function childProcess(): typeof import("node:child_process") {
  return process.getBuiltinModule("node:child_process") as typeof import("node:child_process");
}

function exitCode(proc: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    proc.on("exit", (code, signal) => {
      const os = process.getBuiltinModule("node:os") as typeof import("node:os");
      resolve(signal ? 128 + ((os.constants.signals as Record<string, number>)[signal] ?? 0) : (code ?? 1));
    });
  });
}

/** See index.ts. */
export function spawnHelper(argv: string[], opts: SpawnOptions): HelperProcess {
  const preserveFds = opts.preserveFds ?? 0;
  const preserved = Array.from({ length: preserveFds }, (_, i) => 3 + i);
  const syncSlot = 3 + preserveFds;
  const [file, ...args] = argv as [string, ...string[]];
  const [i, o, e] = opts.stdio ?? ["inherit", "inherit", "inherit"];
  const proc = childProcess().spawn(file, [...args, String(syncSlot)], {
    stdio: [i, o, e, ...preserved, "pipe"],
    env: opts.env ?? {},
  });
  const socket = proc.stdio[syncSlot] as import("node:net").Socket;
  const channel = new ChunkChannel(
    (data) =>
      new Promise<void>((resolve, reject) => {
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      }),
    () => socket.destroy(),
  );
  socket.on("data", (chunk: Buffer) => channel.push(chunk));
  socket.on("end", () => channel.end());
  socket.on("error", (err) => channel.end(err));
  const exited = exitCode(proc);
  if (proc.pid === undefined) throw new Error(`cannot start ${file}`);
  const stdio: HelperStdio = {};
  if (i === "pipe" && proc.stdin) {
    proc.stdin.on("error", () => {});
    stdio.stdin = proc.stdin;
  }
  if (o === "pipe" && proc.stdout) stdio.stdout = proc.stdout;
  if (e === "pipe" && proc.stderr) stdio.stderr = proc.stderr;
  const unref = () => {
    proc.unref();
    socket.unref();
  };
  return { pid: proc.pid, channel, exited, stdio, unref };
}

/**
 * See index.ts. Node has no flock(2): the helper's --flock mode takes it on path, says "L"
 * once it holds it, and keeps it until its stdin closes (release, or this process' death).
 */
export async function lockExclusive(path: string, helper: string): Promise<() => void> {
  const proc = childProcess().spawn(helper, ["--flock", path], { stdio: ["pipe", "pipe", "pipe"] });
  const exited = exitCode(proc);
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const held = await new Promise<boolean>((resolve) => {
    proc.stdout?.once("data", () => resolve(true));
    proc.once("exit", () => resolve(false));
  });
  if (!held) {
    await exited;
    throw new Error(stderr.trim() || `flock ${path}: the helper could not take the lock`);
  }
  return () => {
    proc.stdin?.end();
  };
}
