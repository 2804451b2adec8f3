/**
 * HUSK_FROM_SRC=1: the built CLI (dist/cli/husk) replaces itself with the sources run by the
 * Bun that `npm ci` installed, keeping its pid, fds and signal disposition (a runtime's parent
 * watches that pid), and passing the face it was started as first, as bin/husk once did.
 * execve(2) through bun:ffi, as Bun has no exec; loaded on this path only.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";

export function execSources(packageRoot: string, face: string, args: string[]): never {
  const bun = `${packageRoot}/node_modules/bun/bin/bun.exe`;
  const argv = [bun, `${packageRoot}/src/cli/husk.ts`, face, ...args];
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
  const strings = [...argv, ...env].map((s) => Buffer.from(`${s}\0`));
  const table = (from: number, to: number) => {
    const t = new BigUint64Array(to - from + 1); // NULL-terminated
    for (let i = from; i < to; i++) t[i - from] = BigInt(ptr(strings[i] as Buffer));
    return t;
  };
  const argvTable = table(0, argv.length);
  const envTable = table(argv.length, strings.length);
  const { symbols } = dlopen("libc.so.6", {
    execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  });
  symbols.execve(ptr(strings[0] as Buffer), ptr(argvTable), ptr(envTable));
  process.stderr.write(`husk: HUSK_FROM_SRC: cannot run ${bun}\n`);
  process.exit(127);
}
