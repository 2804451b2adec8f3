/** Container ids: a module of its own, so that the CLI checks one without loading the state code. */
import { HuskError, quote } from "../errors.ts";

/** runc's rule for container ids: they name the state directory, the default cgroup and the session keyring. */
const ID_PATTERN = /^[\w+\-.]+$/;

/** NAME_MAX: the id is one path component (the state directory, the default cgroup's name). */
export const MAX_ID_LENGTH = 255;

/** A container id from the command line or a library caller: runc's pattern, at most 255 characters. */
export function validateId(id: string): void {
  if (id === "") throw new HuskError("container id cannot be empty");
  // Checked first, so the message does not repeat a huge id.
  if (id.length > MAX_ID_LENGTH) {
    throw new HuskError(`container id is too long: ${id.length} characters, at most ${MAX_ID_LENGTH}`);
  }
  if (!ID_PATTERN.test(id) || id === "." || id === "..") {
    throw new HuskError(`invalid container id ${quote(id)}: use letters, digits and "_+-." (not "." or "..")`);
  }
}
