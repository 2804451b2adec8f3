/** Where the helper binary is: built by `make -C native` beside the sources. */
import { join } from "node:path";
import { packageRoot } from "../package-root.ts";

export function helperPath(): string {
  return join(packageRoot(), "native/husk-helper");
}
