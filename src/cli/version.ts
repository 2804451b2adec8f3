import { versionInfo } from "../runtime/version.ts";

/** runc's shape (`NAME version X.Y.Z`, `commit:`, `spec:`), which tools parse, named as started. */
export function versionText(prog = "husk"): string {
  const v = versionInfo();
  return `${prog} version ${v.version}\ncommit: ${v.helper}\nspec: ${v.spec}\n`;
}
