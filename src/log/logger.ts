// The root pino logger: JSON lines, secrets redacted by path; components take child loggers with
// their own bindings. The daemon logs to stdout through an asynchronous buffered writer: Node
// writes to a pipe synchronously on Linux, and a log line per SMTP transaction would otherwise
// block the event loop that is answering every other client.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const REDACTED_PATHS = ['password', 'pass', '*.password', '*.pass', 'passwordHash', '*.passwordHash', 'auth', '*.auth'];

const OPTIONS = { base: { app: 'coffer' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };

export function createLogger(level: LevelWithSilent = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, ...OPTIONS }, destination);
}

/** The daemon's logger: stdout, written asynchronously. Call flushLogger before the process exits. */
export function createDaemonLogger(level: LevelWithSilent): Logger {
  return pino({ level, ...OPTIONS }, pino.destination({ dest: 1, sync: false, minLength: 4096 }));
}

export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
