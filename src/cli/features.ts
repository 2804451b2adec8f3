import { stdout } from "../sys/stdio.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "features",
  usage: "",
  summary: "show what this runtime supports, as runc's features JSON",
  flags: [],
  async run() {
    const { features } = await import("../runtime/features.ts");
    stdout(`${JSON.stringify(features(), null, "    ")}\n`);
    return 0;
  },
};
export default verb;
