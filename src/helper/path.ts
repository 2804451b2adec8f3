/** Where the helper binary is: built by `make -C native` beside the sources. */
import { packageRoot } from "../package-root.ts";

export function helperPath(): string {
  return `${packageRoot()}/native/husk-helper`;
}
