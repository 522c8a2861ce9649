/**
 * Node flags the daemon runs with in production (the DaemonSet and the
 * benchmarks use these). The AWS SDK's EC2 client grows V8's heap while it
 * loads, and V8 keeps that room: a small young generation and size-optimized
 * code, with the minified bundle of `npm run build` (V8 keeps a script's
 * source), keep the resident set of the daemon under 100 MB.
 */
export const daemonNodeFlags = ['--max-semi-space-size=1', '--optimize-for-size'] as const;
