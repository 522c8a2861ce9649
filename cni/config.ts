/**
 * The network configuration on stdin: decoded, version-checked, and our own
 * keys validated. Problems are code 6 (not a JSON object), 1 (a cniVersion we
 * do not speak) or 7 (invalid configuration, naming the key).
 *
 * Our keys, all optional:
 *   ipamdSocket  absolute path of ipamd's unix socket   (/var/run/vpc-cni/ipamd.sock)
 *   pendingDir   where DEL records releases ipamd was not there to take
 *                (/var/run/vpc-cni/pending-del)
 *   timeoutMs    longest wait for ipamd per call, 100..600000 (30000; the
 *                server gives up on a request after 25 s)
 * Other keys are ignored, as the spec allows (e.g. `cniVersions`, `capabilities`,
 * or another CNI's `ipam` section left in a conflist adapted from it).
 */
import { Code, CniError, show } from './errors.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export const DEFAULT_IPAMD_SOCKET = '/var/run/vpc-cni/ipamd.sock';
export const DEFAULT_PENDING_DIR = '/var/run/vpc-cni/pending-del';
export const DEFAULT_TIMEOUT_MS = 30_000;

export type RawConfig = Record<string, unknown>;

export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  ipamdSocket: string;
  pendingDir: string;
  timeoutMs: number;
  prevResult: RawConfig | undefined;
  runtimeConfig: RawConfig | undefined;
  raw: RawConfig;
}

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Whether `v` is at least `min` (both supported versions). */
export function versionAtLeast(v: CniVersion, min: CniVersion): boolean {
  return SUPPORTED_VERSIONS.indexOf(v) >= SUPPORTED_VERSIONS.indexOf(min);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

export function isObject(value: unknown): value is RawConfig {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Stdin as a JSON object (code 6 otherwise). */
export function decodeConfig(text: string): RawConfig {
  if (text.trim() === '') throw new CniError(Code.decoding, 'no network configuration on stdin: expected a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CniError(Code.decoding, `network configuration on stdin is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new CniError(Code.decoding, `network configuration on stdin must be a JSON object, got ${describe(value)}`);
  return value;
}

/** The config's cniVersion, when it is one we speak (code 7 when missing, 1 when unsupported). */
export function versionOf(raw: RawConfig): CniVersion {
  const v = raw.cniVersion;
  if (v === undefined || v === '') throw new CniError(Code.invalidConfig, 'network configuration has no "cniVersion"');
  if (typeof v !== 'string') throw new CniError(Code.invalidConfig, `"cniVersion" must be a string, got ${describe(v)}`);
  if (!isSupportedVersion(v)) {
    throw new CniError(Code.incompatibleVersion, 'incompatible CNI versions', `config is ${show(v)}, vpc-cni supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return v;
}

/** CNI spec: a network name starts with an alphanumeric, then [A-Za-z0-9_.-]; ipamd takes at most 128 characters. */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** sun_path holds 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH = 107;

function stringKey(raw: RawConfig, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new CniError(Code.invalidConfig, `"${key}" must be a string, got ${describe(v)}`);
  return v;
}

function objectKey(raw: RawConfig, key: string): RawConfig | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new CniError(Code.invalidConfig, `"${key}" must be an object, got ${describe(v)}`);
  return v;
}

function absolutePathKey(raw: RawConfig, key: string, fallback: string, maxBytes = 4096): string {
  const v = stringKey(raw, key);
  if (v === undefined) return fallback;
  if (!v.startsWith('/')) throw new CniError(Code.invalidConfig, `"${key}" must be an absolute path, got ${show(v)}`);
  if (CONTROL.test(v)) throw new CniError(Code.invalidConfig, `"${key}" must not contain control characters`);
  if (Buffer.byteLength(v, 'utf8') > maxBytes) throw new CniError(Code.invalidConfig, `"${key}" must be at most ${maxBytes} bytes long, got ${show(v)}`);
  return v;
}

/** Validate the whole configuration (after versionOf). */
export function parseConfig(raw: RawConfig): NetConf {
  const cniVersion = versionOf(raw);
  const name = stringKey(raw, 'name');
  if (name === undefined || name === '') throw new CniError(Code.invalidConfig, 'network configuration has no "name"');
  if (name.length > 128 || !NETWORK_NAME.test(name)) {
    throw new CniError(
      Code.invalidConfig,
      `"name" ${show(name)} is not a valid network name: it must start with a letter or digit, contain only letters, digits, "_", "." and "-", and be at most 128 characters`,
    );
  }
  stringKey(raw, 'type');
  objectKey(raw, 'args');
  const runtimeConfig = objectKey(raw, 'runtimeConfig');
  const prevResult = objectKey(raw, 'prevResult');
  const ipamdSocket = absolutePathKey(raw, 'ipamdSocket', DEFAULT_IPAMD_SOCKET, MAX_SOCKET_PATH);
  const pendingDir = absolutePathKey(raw, 'pendingDir', DEFAULT_PENDING_DIR);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (raw.timeoutMs !== undefined) {
    const t = raw.timeoutMs;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 100 || t > 600_000) {
      throw new CniError(Code.invalidConfig, `"timeoutMs" must be an integer number of milliseconds from 100 to 600000, got ${JSON.stringify(t)}`);
    }
    timeoutMs = t;
  }
  return { cniVersion, name, ipamdSocket, pendingDir, timeoutMs, prevResult, runtimeConfig, raw };
}

/**
 * Requests an ADD cannot honour, refused with code 2 rather than ignored:
 * ipamd picks the address and the pod's MAC, so a requested IP or MAC (the
 * `ips` and `mac` capabilities, e.g. from a pod annotation) would silently
 * not happen. Other keys, `ipam` included (conflists adapted from another
 * CNI keep theirs), are ignored: they ask nothing of a pod.
 */
export function refuseUnsupportedForAdd(conf: NetConf): void {
  for (const key of ['ips', 'mac'] as const) {
    const v = conf.runtimeConfig?.[key];
    if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)) {
      throw new CniError(
        Code.unsupportedField,
        `unsupported field "runtimeConfig.${key}": ${show(JSON.stringify(v))}`,
        `vpc-cni cannot give a pod a chosen ${key === 'ips' ? 'address' : 'MAC address'}; remove the "${key}" capability from the conflist`,
      );
    }
  }
}
