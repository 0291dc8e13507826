// The root pino logger. JSON lines to stderr so that CLI output on stdout stays machine-readable;
// components take a child logger with their own bindings. Secrets are redacted by path.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const REDACTED_PATHS = ['password', 'pass', '*.password', '*.pass', 'passwordHash', '*.passwordHash', 'auth', '*.auth'];

export function createLogger(level: LevelWithSilent = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: { app: 'coffer' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}

export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
