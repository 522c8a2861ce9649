/**
 * Linux interface names as the kernel accepts them (dev_valid_name). Shared
 * by ipamd's request validation and the plugin, so it imports nothing: the
 * plugin loads it on every pod's ADD.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `name` is not a usable Linux interface name, or undefined. */
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
