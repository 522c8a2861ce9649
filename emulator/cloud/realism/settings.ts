import { z } from 'zod';

/**
 * The realism knobs of the emulator, all zero/off by default so tests are
 * fast; `npm start` and the scale simulations turn them up.
 */
export const realismSchema = z
  .object({
    /** Delay before answering, per action name (e.g. `AttachNetworkInterface`), in ms. */
    latencyMs: z.record(z.string(), z.number().int().min(0).max(120_000)).default({}),
    /** Delay applied to every action without its own entry. */
    defaultLatencyMs: z.number().int().min(0).max(120_000).default(0),
    /** Each call's delay varies uniformly by up to this fraction of it either way (0.5: 50 ms becomes 25 to 75 ms). */
    latencyJitter: z.number().min(0).max(1).default(0),
    /** Account-level token buckets with each cloud's documented sizes. */
    throttling: z.boolean().default(false),
    /** Describe calls see the state as it was this long ago. */
    describeLagMs: z.number().int().min(0).max(600_000).default(0),
    /** Time an attachment spends `attaching` (and detachment `detaching`). */
    attachDelayMs: z.number().int().min(0).max(600_000).default(0),
    detachDelayMs: z.number().int().min(0).max(600_000).default(0),
  })
  .strict();

export type RealismSettings = z.infer<typeof realismSchema>;
export type RealismInput = z.input<typeof realismSchema>;

/** How long one call of `action` waits: its latency, moved by the jitter (`draw` gives [0, 1)). */
export function callLatencyMs(settings: Pick<RealismSettings, 'latencyMs' | 'defaultLatencyMs' | 'latencyJitter'>, action: string, draw: () => number): number {
  const base = settings.latencyMs[action] ?? settings.defaultLatencyMs;
  const jitter = settings.latencyJitter;
  return jitter > 0 && base > 0 ? Math.round(base * (1 + jitter * (2 * draw() - 1))) : base;
}

export const faultSchema = z
  .object({
    action: z.string().min(1),
    count: z.number().int().min(1).max(1_000_000),
    code: z.string().min(1),
    message: z.string().default('injected fault'),
    status: z.number().int().min(400).max(599).optional(),
  })
  .strict();

/**
 * Figures in the range the clouds document or users report (CLOUD-APIS.md):
 * attachments take seconds, Describe lags, throttling is on.
 */
export const realisticPreset: RealismInput = {
  latencyMs: { CreateNetworkInterface: 150, AttachNetworkInterface: 100, AssignPrivateIpAddresses: 60, UnassignPrivateIpAddresses: 60 },
  defaultLatencyMs: 20,
  throttling: true,
  describeLagMs: 1000,
  attachDelayMs: 2000,
  detachDelayMs: 1500,
};
