/** Where runtime state lives unless --root (or RuntimeOptions.root) says otherwise, as runc's /run/runc. */
export const DEFAULT_ROOT = "/run/husk";
