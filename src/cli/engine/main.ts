/**
 * `husk`: the engine's command line (docker's verbs over images, networks and volumes). The
 * OCI runtime is `husk-runtime`, or `husk runtime …`.
 */
import { stderr } from "../../sys/stdio.ts";

export async function main(argv: string[]): Promise<number> {
  stderr(`husk: the engine is not built yet (got ${JSON.stringify(argv[0] ?? "")}); the OCI runtime is husk-runtime\n`);
  return 1;
}
