/**
 * The parts of an attachment's identity as both sides accept them: the
 * plugin checks them before calling, ipamd's request validation again. Each
 * side words its own messages. Imports nothing: the plugin loads it on every
 * pod's ADD.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** CNI spec: a container ID starts with a letter or digit, then [A-Za-z0-9_.-]. */
export const CONTAINER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Longest container ID ipamd takes. */
export const MAX_CONTAINER_ID = 256;

/** Why `name` is not a usable Linux interface name (the kernel's dev_valid_name), or undefined. */
export function ifNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (Buffer.byteLength(name, 'utf8') > 15) return 'must be at most 15 bytes (IFNAMSIZ)';
  if (name === '.' || name === '..') return `must not be "${name}"`;
  if (name.includes('/')) return "must not contain '/'";
  if (name.includes(':')) return "must not contain ':'";
  if (/\s/.test(name)) return 'must not contain whitespace';
  if (CONTROL.test(name)) return 'must not contain control characters';
  return undefined;
}
