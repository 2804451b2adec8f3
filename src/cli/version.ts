import { versionInfo } from "../runtime/version.ts";

export function versionText(): string {
  const v = versionInfo();
  return `husk version ${v.version}\nspec: ${v.spec}\nhelper: ${v.helper}\n`;
}
