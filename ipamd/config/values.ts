/**
 * The value schemas of ipamd's variables: each takes the (non-blank) raw
 * string; its error message is the "what is allowed" half of a problem line.
 */
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { z } from 'zod';
import { parseCidr } from '../../lib/ipv4.ts';
import { cloudIdPattern } from './ids.ts';
import type { BindAddress } from './groups.ts';

export const wholeNumber = (min: number, max?: number) => {
  const expected = max === undefined ? `expected a whole number >= ${min}` : `expected a whole number from ${min} to ${max}`;
  const bounded = z.number().int().min(min, { error: expected });
  return z
    .string()
    .trim()
    .regex(/^\+?\d{1,15}$/, { error: expected })
    .transform(Number)
    .pipe(max === undefined ? bounded : bounded.max(max, { error: expected }));
};

export const decimal = (min: number, max: number) => {
  const expected = `expected a number from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\+?(\d{1,15}(\.\d{1,15})?|\.\d{1,15})$/, { error: expected })
    .transform(Number)
    .pipe(z.number().min(min, { error: expected }).max(max, { error: expected }));
};

export const bool = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false', '1', '0'], { error: 'expected true, false, 1 or 0' }))
    .transform((v) => v === 'true' || v === '1');

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(values, { error: `expected one of ${values.join(', ')}` }));

export const absolutePath = () =>
  z
    .string()
    .trim()
    .refine((p) => posix.isAbsolute(p) && !p.includes('\0'), { error: 'expected an absolute path' })
    .transform((p) => (p.length > 1 ? p.replace(/\/+$/, '') : p));

/** `auto`, `off`, or an absolute path to an executable. */
export const executableChoice = () =>
  z
    .string()
    .trim()
    .refine((v) => v === 'auto' || v === 'off' || (posix.isAbsolute(v) && !v.includes('\0')), { error: 'expected auto, off or an absolute path' });

export const httpUrl = () =>
  z
    .string()
    .trim()
    .pipe(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }))
    .transform((u) => u.replace(/\/+$/, ''));

/** Comma-separated IPv4 CIDRs, network addresses only (10.0.0.0/8, not 10.0.0.1/8). */
export const cidrList = () =>
  z.string().transform((s, ctx) => {
    const cidrs = s
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    for (const cidr of cidrs) {
      try {
        parseCidr(cidr);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `expected comma-separated IPv4 CIDRs; ${(err as Error).message}` });
        return z.NEVER;
      }
    }
    return cidrs;
  });

/** Ids are opaque (sg-..., subnet-..., Azure resource paths, vsw-...): no blanks, quotes or commas inside. */
export const idList = (what: string) =>
  z
    .string()
    .transform((s, ctx) => {
      const ids = s
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== '');
      for (const id of ids) {
        if (!cloudIdPattern.test(id)) {
          ctx.addIssue({ code: 'custom', message: `expected comma-separated ${what} ids; ${JSON.stringify(id)} is not an id` });
          return z.NEVER;
        }
      }
      const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
      if (duplicate !== undefined) {
        ctx.addIssue({ code: 'custom', message: `expected comma-separated ${what} ids without repeats; ${duplicate} appears twice` });
        return z.NEVER;
      }
      return ids;
    });

export const reservedTagPrefixes = ['vpc-cni.io/', 'aws:'];
export const maxAdditionalTags = 40;

export const tagMap = () =>
  z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a JSON object of string values, e.g. {"team":"net"}' });
        return z.NEVER;
      }
    })
    .pipe(
      z
        .record(
          z.string().min(1, { error: 'expected tag keys of 1 to 128 characters' }).max(128, { error: 'expected tag keys of 1 to 128 characters' }),
          z.string().max(256, { error: 'expected tag values of at most 256 characters' }),
          { error: 'expected a JSON object of string values, e.g. {"team":"net"}' },
        )
        .superRefine((tags, ctx) => {
          const keys = Object.keys(tags).sort();
          if (keys.length > maxAdditionalTags) {
            ctx.addIssue({ code: 'custom', message: `expected at most ${maxAdditionalTags} tags, got ${keys.length}` });
          }
          const reserved = keys.filter((k) => reservedTagPrefixes.some((p) => k.toLowerCase().startsWith(p)));
          if (reserved.length > 0) {
            ctx.addIssue({
              code: 'custom',
              message: `tag keys starting with ${reservedTagPrefixes.join(' or ')} are reserved (found ${reserved.join(', ')})`,
            });
          }
        }),
    );

function parseHostPort(s: string): { host: string; port: string } | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(s);
  if (bracketed) return { host: bracketed[1] ?? '', port: bracketed[2] ?? '' };
  const colon = s.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const host = s.slice(0, colon);
  if (host.includes(':')) return undefined; // bare IPv6 needs brackets
  return { host, port: s.slice(colon + 1) };
}

const hostnamePattern = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

export const bindAddress = (loopbackOnly: boolean) => {
  const expected = loopbackOnly
    ? 'expected host:port with a loopback host (127.0.0.1, [::1] or localhost) and a port from 0 to 65535'
    : 'expected host:port with a port from 0 to 65535 (IPv6 hosts in brackets, e.g. [::]:61678)';
  return z
    .string()
    .trim()
    .transform((s, ctx): BindAddress => {
      const parts = parseHostPort(s);
      const port = parts && /^\d{1,5}$/.test(parts.port) ? Number(parts.port) : NaN;
      const hostOk = parts !== undefined && (isIP(parts.host) !== 0 || hostnamePattern.test(parts.host));
      if (!parts || !hostOk || !(port >= 0 && port <= 65535)) {
        ctx.addIssue({ code: 'custom', message: expected });
        return z.NEVER;
      }
      if (loopbackOnly && !isLoopback(parts.host)) {
        ctx.addIssue({ code: 'custom', message: `${expected}; ${parts.host} is not a loopback address` });
        return z.NEVER;
      }
      return { host: parts.host, port };
    });
};

export const pattern = (re: RegExp, expected: string) => z.string().trim().regex(re, { error: expected });

/** host[:port] or http(s)://host[:port], no path: the form Alibaba's SDK endpoint setting takes (plus the scheme). */
export const hostOrUrl = () =>
  pattern(
    /^(https?:\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(:\d{1,5})?\/?$/,
    'expected host[:port] or http(s)://host[:port] without a path, e.g. ecs-vpc.cn-hangzhou.aliyuncs.com',
  ).transform((u) => u.replace(/\/+$/, ''));

/** KUBECONFIG may list several files (":"-separated); as kubectl's client libraries do, the first one is used. */
export const kubeconfigPath = () =>
  z
    .string()
    .transform((s) => s.split(':').map((p) => p.trim()).find((p) => p !== '') ?? '')
    .pipe(z.string().min(1, { error: 'expected the path of a kubeconfig file' }).refine((p) => !p.includes('\0'), { error: 'expected the path of a kubeconfig file' }));

export const hostAddress = () =>
  z
    .string()
    .trim()
    .refine((h) => isIP(h) !== 0 || hostnamePattern.test(h), { error: 'expected a host name or an IP address' });
