/** The facts about this host the plan compiler asks for, read when it asks. */
import { existsSync, readFileSync, statSync } from "node:fs";
import type { HostFacts } from "../plan/context.ts";
import { mountPointOf } from "../sys/mountinfo.ts";

export const hostFacts: HostFacts = {
  root: process.geteuid?.() === 0,
  isDirectory: (p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
  exists: (p) => existsSync(p),
  mountPointOf: (p) => mountPointOf(p, readFileSync("/proc/self/mountinfo", "utf8")),
  selinux: existsSync("/sys/fs/selinux/enforce"),
};
