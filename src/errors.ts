// Typed errors with stable codes. Protocol edges (CLI exit codes, SMTP/IMAP replies) map these
// codes to answers; messages are for administrators and never contain message content or secrets.

export const ErrorCodes = {
  ConfigInvalid: 'CONFIG_INVALID',
  ConfigUnreadable: 'CONFIG_UNREADABLE',
  KeyMissing: 'KEY_MISSING',
  KeyInvalid: 'KEY_INVALID',
  KeyMismatch: 'KEY_MISMATCH',
  StoreCorrupt: 'STORE_CORRUPT',
  StoreLocked: 'STORE_LOCKED',
  StoreUnavailable: 'STORE_UNAVAILABLE',
  NotFound: 'NOT_FOUND',
  InvalidArgument: 'INVALID_ARGUMENT',
  SourceUnreadable: 'SOURCE_UNREADABLE',
  QueryInvalid: 'QUERY_INVALID',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface CofferErrorOptions {
  cause?: unknown;
  /** A temporary failure may succeed when retried (SMTP 451, IMAP TEMPFAIL). */
  temporary?: boolean;
}

export class CofferError extends Error {
  readonly code: ErrorCode;
  readonly temporary: boolean;

  constructor(code: ErrorCode, message: string, options: CofferErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CofferError';
    this.code = code;
    this.temporary = options.temporary ?? false;
  }
}

export function isCofferError(value: unknown, code?: ErrorCode): value is CofferError {
  return value instanceof CofferError && (code === undefined || value.code === code);
}

/** Short, single-line description of any thrown value, for logs and CLI reports. */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
