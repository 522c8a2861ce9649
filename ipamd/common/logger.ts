import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** JSON logs on stderr (stdout stays free for the commands that print). */
export function createLogger(level: LogLevel, bindings: Record<string, string> = {}): Logger {
  return pino({ level, base: { component: 'ipamd', ...bindings } }, pino.destination(2));
}

export const silentLogger: Logger = pino({ level: 'silent' });
