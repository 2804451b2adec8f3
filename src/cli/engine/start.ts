import { parseFilters } from "../../engine/filters.ts";
import { HuskError } from "../../errors.ts";
import { stderr, stdout } from "../../sys/stdio.ts";
import { useTerminal } from "./attach.ts";
import { flagMessage } from "./run.ts";
import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "start",
  usage: "[options] CONTAINER [CONTAINER...] | --all [--filter KEY=VALUE ...]",
  summary: "start created or stopped containers (detached unless -a)",
  flags: [
    { name: "attach", short: "a", type: "bool", help: "attach stdout and stderr and exit with the container's status" },
    { name: "interactive", short: "i", type: "bool", help: "attach stdin too" },
    { name: "detach-keys", type: "string", help: 'with -a, the keys that detach and leave it running (default "ctrl-p,ctrl-q")' },
    { name: "all", type: "bool", help: "every container that is not running (podman's; with --filter, those that match)" },
    {
      name: "filter",
      short: "f",
      type: "list",
      help: "with --all, KEY=VALUE as ps takes them, and restart-policy (no, always, unless-stopped, on-failure; an unless-stopped container stopped by hand is left stopped, as at a boot)",
    },
  ],
  async run(p, g) {
    if (p.flags.all === true) return await startAll(p.positionals, p.flags, g);
    if (p.flags.filter) throw new HuskError("--filter: only with --all");
    const refs = needArgs(p, 1, "start");
    const engine = await engineOf(g);
    const attach = p.flags.attach === true || p.flags.interactive === true;
    if (!attach)
      return eachRef(refs, async (ref) => {
        await engine.startContainer(ref);
        return undefined;
      });
    if (refs.length > 1) throw new HuskError("you cannot start and attach multiple containers at once");
    // docker's way: attached before it starts (detached, under its monitor), so nothing is
    // missed; the detach keys leave it running. One that runs already is only attached to.
    const a = await engine
      .attach(refs[0]!, {
        start: true,
        stdin: p.flags.interactive === true,
        detachKeys: p.flags["detach-keys"] as string | undefined,
      })
      .catch((err) => {
        throw flagMessage(err);
      });
    return useTerminal(a, { endStdin: true, sigProxy: true, pid: engine.record(a.id).pid });
  },
};
/** `start --all`: what starts is named on stdout, what cannot start on stderr (status 1). */
async function startAll(
  positionals: string[],
  flags: Record<string, unknown>,
  g: Parameters<EngineVerb["run"]>[1],
): Promise<number> {
  if (positionals.length > 0) throw new HuskError("--all: no container names with it");
  if (flags.attach === true || flags.interactive === true) throw new HuskError("--all: not with --attach or --interactive");
  const filters = flags.filter ? parseFilters(flags.filter as string[]) : undefined;
  const engine = await engineOf(g);
  const { started, failed } = await engine.startAll(filters);
  stdout(started.map((c) => `${c.name}\n`).join(""));
  for (const f of failed) stderr(`husk: ${f.id.slice(0, 12)}: ${f.error.message}\n`);
  return failed.length > 0 ? 1 : 0;
}

export default verb;
