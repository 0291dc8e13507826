// Slows password guessing: failed logins are counted per client address and per user name, and
// once either reaches the limit within the window, logins for it are refused outright for a
// lockout period, without running the (deliberately expensive) password hash. A success clears
// that user's count. Memory is bounded: the oldest entries are dropped past a fixed size, so a
// flood of distinct addresses or names cannot grow it. Shared by SMTP AUTH and, later, IMAP.

export interface ThrottleOptions {
  /** Failures allowed within the window before the key is locked out. */
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  /** Upper bound on tracked keys. */
  maxEntries: number;
  now?: () => number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 5 * 60_000, maxEntries: 10_000 };

export interface LoginAttempt {
  ip: string;
  user: string;
}

interface Entry {
  failures: number;
  firstFailure: number;
  lockedUntil: number;
}

export interface LoginThrottle {
  /** Seconds until logins are possible again for this address or user, or 0 when allowed now. */
  retryAfter(attempt: LoginAttempt): number;
  failed(attempt: LoginAttempt): void;
  succeeded(attempt: LoginAttempt): void;
}

export function createLoginThrottle(options: ThrottleOptions = DEFAULT_THROTTLE): LoginThrottle {
  const now = options.now ?? Date.now;
  // Map keeps insertion order: re-inserting on every failure makes the first key the stalest.
  const entries = new Map<string, Entry>();
  const keysOf = ({ ip, user }: LoginAttempt): string[] => [`ip:${ip}`, `user:${user.toLowerCase()}`];

  const current = (key: string, at: number): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.lockedUntil <= at && at - entry.firstFailure > options.windowMs) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  return {
    retryAfter(attempt) {
      const at = now();
      const until = Math.max(0, ...keysOf(attempt).map((key) => current(key, at)?.lockedUntil ?? 0));
      return until > at ? Math.ceil((until - at) / 1000) : 0;
    },
    failed(attempt) {
      const at = now();
      for (const key of keysOf(attempt)) {
        const entry = current(key, at) ?? { failures: 0, firstFailure: at, lockedUntil: 0 };
        entry.failures += 1;
        if (entry.failures >= options.maxFailures) {
          entry.lockedUntil = at + options.lockoutMs;
          entry.failures = 0;
          entry.firstFailure = at;
        }
        entries.delete(key);
        entries.set(key, entry);
      }
      while (entries.size > options.maxEntries) entries.delete(entries.keys().next().value as string);
    },
    succeeded({ user }) {
      entries.delete(`user:${user.toLowerCase()}`);
    },
  };
}
