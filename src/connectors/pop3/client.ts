// A small POP3 client (RFC 1939, CAPA/PIPELINING RFC 2449, STLS RFC 2595, SASL PLAIN RFC 5034)
// for POP3 archiving profiles. Hand-written because no npm POP3 library fits: they decode messages
// to strings (archived bytes must be exact) and lack STLS. Messages are Buffers, byte-exact except
// for the dot-unstuffing POP3 requires; responses are parsed incrementally at any chunk boundary.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export type Pop3Security = 'tls' | 'starttls' | 'none';

export interface Pop3ConnectOptions {
  host: string;
  port: number;
  /** tls: implicit TLS (995); starttls: STLS, required (no plaintext fallback); none: plaintext. */
  security: Pop3Security;
  /** Accept any certificate (self-signed, wrong name); otherwise normal verification against host. */
  ignoreCertificateErrors: boolean;
  user: string;
  password: string;
  /** Socket inactivity limit while a command waits for its answer; the connection is then destroyed. */
  timeoutMs: number;
  /** Limit for TCP connect plus the TLS handshake (implicit TLS and STLS); default timeoutMs. */
  connectTimeoutMs?: number;
  /** auto (default): SASL PLAIN when CAPA lists it (UTF-8 safe, one round trip), else USER/PASS. */
  login?: 'auto' | 'user-pass' | 'sasl-plain';
}

export type Pop3ErrorKind = 'auth' | 'connect' | 'tls' | 'timeout' | 'protocol' | 'closed' | 'command';

/** Every failure of the client. Messages name host:port and the command, never the password. */
export class Pop3Error extends Error {
  readonly kind: Pop3ErrorKind;
  /** The command as it would be logged ("RETR 3", "PASS" without its argument), if any. */
  readonly command: string | undefined;
  /** The server's status line ("-ERR ..."), for kinds auth and command. */
  readonly response: string | undefined;

  constructor(kind: Pop3ErrorKind, message: string, options: { command?: string; response?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Pop3Error';
    this.kind = kind;
    this.command = options.command;
    this.response = options.response;
  }
}

export interface Pop3Response {
  ok: boolean;
  /** The status line without its CRLF, e.g. "+OK 3 messages" or "-ERR no such message". */
  status: string;
  /** Multi-line responses: the bytes after the status line, dot-unstuffed, without the final "." line. */
  body?: Buffer;
}

export class Pop3ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pop3ParseError';
  }
}

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** RFC 2449 limits responses to 512 octets; generous for greetings and -ERR texts seen in the wild. */
const MAX_STATUS_LINE = 8192;

/**
 * Incremental parser of POP3 responses. The client declares each expected response (single or
 * multi-line) in order before sending its command; push() accepts bytes split anywhere and calls
 * onResponse for each complete response, in order. Multi-line bodies are kept as slices of the
 * received chunks and joined once (no quadratic copying). Per RFC 1939 section 3 a body line
 * starting with "." loses that "." (dot-stuffing), a line that is just "." ends the body, and the
 * CRLF before it belongs to the body's last line; all other bytes are kept exactly (CRLF stays
 * CRLF; a bare LF also ends a line, for lenience). Throws Pop3ParseError on malformed input.
 */
export class Pop3ResponseParser {
  private readonly expected: boolean[] = [];
  private readonly onResponse: (response: Pop3Response) => void;
  private phase: 'status' | 'body' = 'status';
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  private status = '';
  private bodyState: 'lineStart' | 'dot' | 'dotCr' | 'mid' = 'lineStart';
  private segments: Buffer[] = [];
  private bodyLength = 0;
  private received = 0;

  constructor(onResponse: (response: Pop3Response) => void) {
    this.onResponse = onResponse;
  }

  /** Declares the next expected response: multi-line (+OK is followed by lines and ".") or not. */
  expect(multiline: boolean): void {
    this.expected.push(multiline);
  }

  /** Responses declared and not complete yet. */
  get pending(): number {
    return this.expected.length;
  }

  /** Bytes of the response in progress received so far, as sent (status line and body). */
  get partialBytes(): number {
    return this.received;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const multiline = this.expected[0];
      if (multiline === undefined) throw new Pop3ParseError(`unexpected data from the server: ${preview(chunk.subarray(pos))}`);
      if (this.phase === 'status') {
        const lf = chunk.indexOf(LF, pos);
        const end = lf === -1 ? chunk.length : lf;
        if (this.lineLength + (end - pos) > MAX_STATUS_LINE) throw new Pop3ParseError(`response line longer than ${MAX_STATUS_LINE} bytes`);
        this.lineParts.push(chunk.subarray(pos, end));
        this.lineLength += end - pos;
        if (lf === -1) {
          this.received += end - pos;
          return;
        }
        this.received += lf + 1 - pos;
        pos = lf + 1;
        let line = Buffer.concat(this.lineParts, this.lineLength);
        this.lineParts = [];
        this.lineLength = 0;
        if (line[line.length - 1] === CR) line = line.subarray(0, -1);
        // Status texts are ASCII in practice; latin1 keeps any stray byte visible as one char.
        const status = line.toString('latin1');
        const ok = /^\+OK(?:[ \t]|$)/.test(status);
        if (!ok && !/^-ERR(?:[ \t]|$)/.test(status)) throw new Pop3ParseError(`malformed response: ${preview(line)}`);
        if (ok && multiline) {
          this.phase = 'body';
          this.status = status;
          this.bodyState = 'lineStart';
          this.segments = [];
          this.bodyLength = 0;
        } else {
          this.expected.shift();
          this.received = 0;
          this.onResponse({ ok, status });
        }
      } else {
        const end = this.scanBody(chunk, pos);
        if (end === -1) {
          this.received += chunk.length - pos;
          return;
        }
        pos = end;
        this.received = 0;
        const body = Buffer.concat(this.segments, this.bodyLength);
        const status = this.status;
        this.segments = [];
        this.bodyLength = 0;
        this.phase = 'status';
        this.expected.shift();
        this.onResponse({ ok: true, status, body });
      }
    }
  }

  /** Consumes body bytes from chunk[start..]; the index after the terminating line, or -1 if more is needed. */
  private scanBody(chunk: Buffer, start: number): number {
    let pos = start;
    // Bytes [kept, pos) are body bytes not yet copied into segments.
    let kept = start;
    const keep = (end: number): void => {
      if (end > kept) {
        this.segments.push(chunk.subarray(kept, end));
        this.bodyLength += end - kept;
      }
    };
    while (pos < chunk.length) {
      switch (this.bodyState) {
        case 'mid': {
          const lf = chunk.indexOf(LF, pos);
          if (lf === -1) {
            pos = chunk.length;
          } else {
            pos = lf + 1;
            this.bodyState = 'lineStart';
          }
          break;
        }
        case 'lineStart':
          if (chunk[pos] === DOT) {
            // Either the terminator or a stuffed dot: dropped in both cases.
            keep(pos);
            pos++;
            kept = pos;
            this.bodyState = 'dot';
          } else {
            this.bodyState = 'mid';
          }
          break;
        case 'dot':
          if (chunk[pos] === CR) {
            // Held back until the next byte tells whether this is ".CRLF".
            keep(pos);
            pos++;
            kept = pos;
            this.bodyState = 'dotCr';
          } else if (chunk[pos] === LF) {
            keep(pos);
            return pos + 1;
          } else {
            this.bodyState = 'mid';
          }
          break;
        case 'dotCr':
          if (chunk[pos] === LF) return pos + 1;
          // "." CR <other>: a stuffed line whose content starts with a CR; give the CR back.
          this.segments.push(Buffer.from([CR]));
          this.bodyLength += 1;
          this.bodyState = 'mid';
          break;
      }
    }
    keep(chunk.length);
    return -1;
  }
}

function preview(bytes: Buffer): string {
  return sanitize(bytes.subarray(0, 120).toString('latin1'));
}

/** Server text for error messages: one line, no control characters, bounded. */
function sanitize(text: string): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 300 ? `${clean.slice(0, 300)}...` : clean;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EADDRNOTAVAIL']);

interface Pending {
  /** For messages: "RETR 3", "PASS" (never the argument). */
  label: string;
  line: string;
  multiline: boolean;
  resolve: (response: Pop3Response) => void;
  reject: (err: Pop3Error) => void;
}

/** A logged-in POP3 session. Commands may be called concurrently; they are answered in order. */
export interface Pop3Client {
  /** The server's CAPA lines (RFC 2449), fetched again; [] if the server does not know CAPA. */
  capabilities(): Promise<string[]>;
  /** Message numbers and unique ids (UIDL; RFC 1939 section 7). */
  uidl(): Promise<{ number: number; uid: string }[]>;
  /** Message numbers and sizes in octets (as the server counts them: usually with CRLF line ends). */
  list(): Promise<{ number: number; size: number }[]>;
  /** Message count and total size (STAT). */
  stat(): Promise<{ count: number; size: number }>;
  /** The message's bytes exactly as the server sent them, dot-unstuffed. */
  retrieve(number: number): Promise<Buffer>;
  /** Marks a message deleted; the server removes it only at quit(). */
  delete(number: number): Promise<void>;
  noop(): Promise<void>;
  /** QUIT: ends the session and commits deletions (UPDATE state). Rejects (kind command) if the server says it could not. */
  quit(): Promise<void>;
  /** Destroys the connection without QUIT: deletions are NOT committed (RFC 1939 section 6). */
  close(): void;
  /** Whether the server advertised PIPELINING (then commands are sent without waiting for answers). */
  readonly pipelining: boolean;
  /** False once the connection failed, was closed or QUIT. */
  readonly usable: boolean;
}

/** Connects, negotiates TLS as configured and logs in; rejects with a Pop3Error. */
export async function connectPop3(options: Pop3ConnectOptions): Promise<Pop3Client> {
  if (/[\r\n\0]/.test(options.user) || /[\r\n\0]/.test(options.password)) {
    throw new Pop3Error('auth', `pop3 ${options.host}:${options.port}: the user name or password contains a line break or NUL`);
  }
  const session = new Session(options);
  try {
    await session.open();
    return session;
  } catch (err) {
    session.close();
    throw err;
  }
}

class Session implements Pop3Client {
  private readonly options: Pop3ConnectOptions;
  private readonly where: string;
  private socket: Socket | undefined;
  private detach: (() => void) | undefined;
  private parser: Pop3ResponseParser;
  private readonly inFlight: Pending[] = [];
  private readonly queued: Pending[] = [];
  private failure: Pop3Error | undefined;
  private failureReason: string | undefined;
  private ended = false;
  pipelining = false;

  constructor(options: Pop3ConnectOptions) {
    this.options = options;
    this.where = `pop3 ${options.host}:${options.port}`;
    this.parser = this.createParser();
  }

  get usable(): boolean {
    return this.socket !== undefined && this.failure === undefined && !this.ended;
  }

  // ---- connection ---------------------------------------------------------------------------

  async open(): Promise<void> {
    const o = this.options;
    this.attach(await this.connectSocket());
    // Expected right after attaching: no data can arrive in between (same tick).
    const hello = await this.expectGreeting();
    if (!hello.ok) throw this.error('connect', `the server refused the session: ${sanitize(hello.status)}`, { response: hello.status });
    let capabilities = await this.capabilities();
    if (o.security === 'starttls') {
      if (!capabilities.some((line) => line.toUpperCase() === 'STLS')) {
        throw this.error('tls', 'the server does not offer STLS (security is starttls; refusing to log in without TLS)');
      }
      const answer = await this.command('STLS', false);
      if (!answer.ok) throw this.error('tls', `STLS refused: ${sanitize(answer.status)}`, { command: 'STLS', response: answer.status });
      await this.upgrade();
      // RFC 2595 section 4: forget what was learned before TLS; it may have been forged.
      capabilities = await this.capabilities();
    }
    await this.login(capabilities);
    // RFC 2449 section 5: capabilities may change after authentication (Dovecot adds PIPELINING).
    const after = await this.capabilities();
    this.pipelining = after.some((line) => line.toUpperCase() === 'PIPELINING');
  }

  private connectSocket(): Promise<Socket> {
    const o = this.options;
    const limit = o.connectTimeoutMs ?? o.timeoutMs;
    return new Promise((resolve, reject) => {
      let tcpConnected = false;
      const socket: Socket =
        o.security === 'tls'
          ? tlsConnect({ host: o.host, port: o.port, ...this.tlsOptions() })
          : netConnect({ host: o.host, port: o.port });
      const timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        reject(this.error('timeout', tcpConnected ? `TLS handshake did not finish within ${limit} ms` : `could not connect within ${limit} ms`));
      }, limit);
      const onConnect = (): void => {
        tcpConnected = true;
      };
      const onReady = (): void => {
        cleanup();
        resolve(socket);
      };
      const onError = (err: NodeJS.ErrnoException): void => {
        cleanup();
        socket.destroy();
        reject(tcpConnected ? this.tlsError(err) : this.connectError(err));
      };
      const onClose = (): void => {
        cleanup();
        reject(tcpConnected ? this.error('tls', 'the server closed the connection during the TLS handshake') : this.error('connect', 'connection closed while connecting'));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off(o.security === 'tls' ? 'secureConnect' : 'connect', onReady);
        socket.off('error', onError);
        socket.off('close', onClose);
      };
      socket.on('connect', onConnect);
      socket.once(o.security === 'tls' ? 'secureConnect' : 'connect', onReady);
      socket.on('error', onError);
      socket.on('close', onClose);
    });
  }

  private tlsOptions(): { servername?: string; rejectUnauthorized: boolean } {
    const host = this.options.host;
    // SNI must not carry an IP address (RFC 6066); verification still checks the IP against the certificate.
    return { rejectUnauthorized: !this.options.ignoreCertificateErrors, ...(isIP(host) === 0 ? { servername: host } : {}) };
  }

  /** STLS: hands the plain socket to TLS; bytes received after the +OK would be injected plaintext. */
  private async upgrade(): Promise<void> {
    const plain = this.socket;
    // Anything after the +OK made the parser fail the session already (unsolicited data).
    if (!plain || this.failure || this.parser.pending > 0 || this.parser.partialBytes > 0) {
      throw this.error('protocol', `STLS: ${this.failureReason ?? 'unexpected data after the answer'}`, { command: 'STLS' });
    }
    this.detach?.();
    this.detach = undefined;
    this.socket = undefined;
    plain.setTimeout(0);
    const limit = this.options.connectTimeoutMs ?? this.options.timeoutMs;
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const socket = tlsConnect({ socket: plain, host: this.options.host, ...this.tlsOptions() });
      const timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        reject(this.error('timeout', `TLS handshake after STLS did not finish within ${limit} ms`));
      }, limit);
      const onReady = (): void => {
        cleanup();
        resolve(socket);
      };
      const onError = (err: NodeJS.ErrnoException): void => {
        cleanup();
        socket.destroy();
        reject(this.tlsError(err));
      };
      const onClose = (): void => {
        cleanup();
        reject(this.error('tls', 'the server closed the connection during the TLS handshake'));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('secureConnect', onReady);
        socket.off('error', onError);
        socket.off('close', onClose);
      };
      socket.once('secureConnect', onReady);
      socket.on('error', onError);
      socket.on('close', onClose);
    });
    this.parser = this.createParser();
    this.attach(secure);
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    socket.setTimeout(this.options.timeoutMs);
    const onData = (chunk: Buffer): void => {
      try {
        this.parser.push(chunk);
      } catch (err) {
        this.fail('protocol', err instanceof Error ? err.message : String(err));
      }
    };
    const onTimeout = (): void => {
      // Only a command waiting for its answer times out; an idle session may stay open.
      if (this.inFlight.length > 0) this.fail('timeout', `no answer within ${this.options.timeoutMs} ms`);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      this.fail('closed', `connection failed (${err.code ?? err.message})`);
    };
    const onClose = (): void => {
      if (this.ended) this.fail('closed', 'connection closed');
      else this.fail('closed', 'connection closed by the server');
    };
    socket.on('data', onData);
    socket.on('timeout', onTimeout);
    socket.on('error', onError);
    socket.on('close', onClose);
    this.detach = () => {
      socket.off('data', onData);
      socket.off('timeout', onTimeout);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
  }

  private createParser(): Pop3ResponseParser {
    return new Pop3ResponseParser((response) => {
      const pending = this.inFlight.shift();
      pending?.resolve(response);
      this.pump();
    });
  }

  // ---- commands -----------------------------------------------------------------------------

  private expectGreeting(): Promise<Pop3Response> {
    return new Promise((resolve, reject) => {
      this.parser.expect(false);
      this.inFlight.push({ label: 'greeting', line: '', multiline: false, resolve, reject });
    });
  }

  /** Sends a command (or queues it until the previous answer when the server does not pipeline). */
  private command(line: string, multiline: boolean, label = line): Promise<Pop3Response> {
    if (this.failure || this.ended || !this.socket) {
      const reason = this.failureReason ? `the connection is no longer usable (${this.failureReason})` : 'the connection is closed';
      return Promise.reject(this.error('closed', `cannot send ${label}: ${reason}`, { command: label }));
    }
    return new Promise((resolve, reject) => {
      this.queued.push({ label, line, multiline, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    const socket = this.socket;
    if (!socket || this.failure) return;
    while (this.queued.length > 0 && (this.inFlight.length === 0 || this.pipelining)) {
      const next = this.queued.shift();
      if (!next) break;
      this.inFlight.push(next);
      this.parser.expect(next.multiline);
      socket.write(`${next.line}\r\n`);
    }
  }

  /** Ends the session for every waiting command; the first failure is remembered for later calls. */
  private fail(kind: Pop3ErrorKind, reason: string): void {
    const waiting = [...this.inFlight.splice(0), ...this.queued.splice(0)];
    const received = this.parser.partialBytes;
    this.detach?.();
    this.detach = undefined;
    this.socket?.destroy();
    waiting.forEach((pending, i) => {
      const detail = i === 0 && received > 0 ? ` (after ${received} bytes of the answer)` : '';
      const err = this.error(kind, `${reason} during ${pending.label}${detail}`, { command: pending.label });
      if (i === 0 && !this.failure) {
        this.failure = err;
        this.failureReason = `${reason} during ${pending.label}`;
      }
      pending.reject(err);
    });
    if (!this.failure) {
      this.failure = this.error(kind, reason);
      this.failureReason = reason;
    }
  }

  private async simple(line: string, label = line): Promise<Pop3Response> {
    const response = await this.command(line, false, label);
    if (!response.ok) throw this.error('command', `${label} failed: ${sanitize(response.status)}`, { command: label, response: response.status });
    return response;
  }

  private async multi(line: string): Promise<Buffer> {
    const response = await this.command(line, true);
    if (!response.ok) throw this.error('command', `${line} failed: ${sanitize(response.status)}`, { command: line, response: response.status });
    return response.body ?? Buffer.alloc(0);
  }

  private async login(capabilities: string[]): Promise<void> {
    const o = this.options;
    const sasl = capabilities.find((line) => /^SASL\s/i.test(line));
    const plainOffered = sasl !== undefined && sasl.toUpperCase().split(/\s+/).includes('PLAIN');
    const method = o.login ?? 'auto';
    if (method === 'sasl-plain' && !plainOffered) throw this.error('auth', 'login failed: the server does not offer SASL PLAIN');
    if (method !== 'user-pass' && plainOffered) {
      // RFC 5034 initial response; the authorization identity is empty (log in as the user itself).
      const token = Buffer.from(`\0${o.user}\0${o.password}`, 'utf8').toString('base64');
      const answer = await this.command(`AUTH PLAIN ${token}`, false, 'AUTH PLAIN');
      if (!answer.ok) throw this.authError('AUTH PLAIN', answer.status);
      return;
    }
    const user = await this.command(`USER ${o.user}`, false, `USER ${o.user}`);
    if (!user.ok) throw this.authError(`USER ${o.user}`, user.status);
    const pass = await this.command(`PASS ${o.password}`, false, 'PASS');
    if (!pass.ok) throw this.authError('PASS', pass.status);
  }

  async capabilities(): Promise<string[]> {
    const response = await this.command('CAPA', true);
    if (!response.ok) return [];
    return splitLines(response.body ?? Buffer.alloc(0))
      .map((line) => line.trim())
      .filter((line) => line !== '');
  }

  async uidl(): Promise<{ number: number; uid: string }[]> {
    const body = await this.multi('UIDL');
    return splitLines(body).map((line) => {
      // RFC 1939: "n unique-id", the id being 1-70 characters 0x21-0x7E.
      const match = /^(\d+) +([\x21-\x7e]+) *$/.exec(line);
      if (!match?.[1] || !match[2]) throw this.protocolError('UIDL', line);
      return { number: Number(match[1]), uid: match[2] };
    });
  }

  async list(): Promise<{ number: number; size: number }[]> {
    const body = await this.multi('LIST');
    return splitLines(body).map((line) => {
      const match = /^(\d+) +(\d+)\b/.exec(line);
      if (!match?.[1] || !match[2]) throw this.protocolError('LIST', line);
      return { number: Number(match[1]), size: Number(match[2]) };
    });
  }

  async stat(): Promise<{ count: number; size: number }> {
    const response = await this.simple('STAT');
    const match = /^\+OK +(\d+) +(\d+)/.exec(response.status);
    if (!match?.[1] || !match[2]) throw this.protocolError('STAT', response.status);
    return { count: Number(match[1]), size: Number(match[2]) };
  }

  async retrieve(number: number): Promise<Buffer> {
    return this.multi(`RETR ${messageNumber(number)}`);
  }

  async delete(number: number): Promise<void> {
    await this.simple(`DELE ${messageNumber(number)}`);
  }

  async noop(): Promise<void> {
    await this.simple('NOOP');
  }

  async quit(): Promise<void> {
    const socket = this.socket;
    const answer = await this.command('QUIT', false);
    this.ended = true;
    if (socket) {
      // The server closes after its answer; do not wait for it longer than a moment.
      socket.end();
      const timer = setTimeout(() => socket.destroy(), 1000);
      socket.once('close', () => clearTimeout(timer));
    }
    if (!answer.ok) throw this.error('command', `QUIT failed (deletions may not have been committed): ${sanitize(answer.status)}`, { command: 'QUIT', response: answer.status });
  }

  close(): void {
    if (!this.failure && !this.ended) {
      this.ended = true;
      this.fail('closed', 'connection closed by the client');
    } else {
      this.ended = true;
      this.detach?.();
      this.socket?.destroy();
    }
  }

  // ---- errors -------------------------------------------------------------------------------

  private error(kind: Pop3ErrorKind, what: string, options: { command?: string; response?: string; cause?: unknown } = {}): Pop3Error {
    return new Pop3Error(kind, `${this.where}: ${what}`, options);
  }

  private authError(command: string, status: string): Pop3Error {
    return this.error('auth', `login failed: ${sanitize(status)}`, { command, response: status });
  }

  private protocolError(command: string, line: string): Pop3Error {
    const err = this.error('protocol', `malformed ${command} answer: ${sanitize(line.slice(0, 120))}`, { command });
    this.close();
    return err;
  }

  private connectError(err: NodeJS.ErrnoException): Pop3Error {
    const code = err.code ?? '';
    if (CONNECT_CODES.has(code)) return this.error('connect', `cannot connect (${code})`, { cause: err });
    return this.error('connect', `cannot connect (${code || err.message})`, { cause: err });
  }

  private tlsError(err: NodeJS.ErrnoException): Pop3Error {
    const code = err.code ?? '';
    const certificate = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|ALTNAME/.test(code);
    const hint = certificate && !this.options.ignoreCertificateErrors ? ' (set ignoreCertificateErrors to accept a self-signed certificate)' : '';
    return this.error('tls', `TLS handshake failed: ${sanitize(err.message)}${code && !err.message.includes(code) ? ` (${code})` : ''}${hint}`, { cause: err });
  }
}

function messageNumber(number: number): number {
  if (!Number.isSafeInteger(number) || number < 1) throw new RangeError(`not a POP3 message number: ${number}`);
  return number;
}

/** Lines of a CAPA/UIDL/LIST body (CRLF or LF ends). */
function splitLines(body: Buffer): string[] {
  const text = body.toString('latin1');
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
