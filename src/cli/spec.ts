import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HuskError } from "../errors.ts";
import { defaultSpec } from "../oci/default-spec.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "spec",
  usage: "[command options]",
  summary: "write a default config.json for a new bundle, like runc spec",
  flags: [
    { name: "bundle", short: "b", type: "string", help: "path to the root of the bundle directory" },
    { name: "rootless", type: "bool", help: "generate a configuration for a rootless container" },
  ],
  run({ flags }) {
    const path = join((flags.bundle as string | undefined) ?? ".", "config.json");
    const spec = defaultSpec({ rootless: flags.rootless === true });
    try {
      writeFileSync(path, JSON.stringify(spec, null, "\t"), { flag: "wx", mode: 0o666 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new HuskError(`File ${path} exists. Remove it first`);
      throw err;
    }
    return 0;
  },
};
export default verb;
