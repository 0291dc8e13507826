// A private, real Dovecot (2.3) as the source mailbox server for connector tests: its own config,
// base_dir, state_dir, log file, passwd-file users and Maildir++ storage, all inside one temp dir,
// listening on 127.0.0.1 ports picked by the OS (IMAP+STARTTLS, IMAPS, POP3+STLS, POP3S). Test
// fixtures are put in and read back through IMAP (ImapFlow, one cached connection per user) and
// doveadm with the same config. The system Dovecot config and ports are never touched.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { testCertificate } from '../certificate.js';

export interface DovecotOptions {
  users: string[];
  /** Same for all users; default 'secret'. */
  password?: string;
  /** A master user: SASL PLAIN with authzid=<user>, authcid=<master> logs in as <user> (RFC 4616). */
  master?: { name: string; password: string };
  /** Sent, Drafts, Trash, Junk carry SPECIAL-USE flags (RFC 6154) in LIST; default true. The folders exist either way. */
  specialUse?: boolean;
}

export interface SourceMessage {
  uid: number;
  flags: string[];
  raw: Buffer;
  internalDate: Date;
}

export interface Dovecot {
  host: string;
  ports: { imap: number; imaps: number; pop3: number; pop3s: number };
  password: string;
  master?: { name: string; password: string };
  dir: string;
  /** Appends a message to user's folder (created, with parents, if missing; path segments joined by '/'), returns its UID. */
  append(user: string, folder: string, raw: Buffer | string, options?: { flags?: string[]; internalDate?: Date }): Promise<number>;
  /**
   * Every message in a folder, in UID order, with flags (sorted, without the session-dependent
   * \Recent) and the exact bytes an IMAP client gets (for checking what the archiver left/deleted).
   * Dovecot stores maildir files with LF line ends and sends CRLF: a message appended with bare
   * LFs comes back (over IMAP and POP3 alike) with CRLFs; CRLF messages come back byte-exact.
   */
  messages(user: string, folder: string): Promise<SourceMessage[]>;
  /** Moves a message (by UID) to another folder of the same user (IMAP MOVE), returning the new UID. */
  move(user: string, from: string, uid: number, to: string): Promise<number>;
  setFlags(user: string, folder: string, uid: number, flags: string[]): Promise<void>;
  createFolder(user: string, folder: string): Promise<void>;
  /** UIDVALIDITY of a folder as an IMAP client sees it (SELECT). */
  uidValidity(user: string, folder: string): Promise<bigint>;
  /**
   * Makes Dovecot assign a new UIDVALIDITY to the folder (messages keep their bytes, flags and
   * internal dates, and get UIDs assigned anew from 1, in delivery order): the folder's
   * dovecot-uidlist and index files are deleted, as after a rebuilt index on a real server. The
   * harness's own connection for the user is closed first; sessions of other clients that have
   * the folder selected see the change on their next command (Dovecot may disconnect them).
   */
  resetUidValidity(user: string, folder: string): Promise<void>;
  /**
   * Makes one message impossible for the server to deliver while it stays listed: its maildir
   * file is made unreadable (mode 000) for the mail user. Its sizes are in the file name (S=, W=),
   * so UID FETCH (UID FLAGS RFC822.SIZE), SEARCH, POP3 LIST and UIDL still work. What Dovecot
   * 2.3.19 answers when the body is asked for (checked by harness.test.ts):
   * - IMAP `UID FETCH <range> BODY.PEEK[]`: messages before the broken one are delivered, then
   *   `* <seq> FETCH (UID <uid>)` (no body) and
   *   `* BYE FETCH failed: Internal error occurred. Refer to server log for more information. [<time>]`,
   *   and Dovecot closes the connection: no tagged reply (cmd-fetch.c: "We never want to reply NO
   *   to FETCH requests, BYE is preferrable"). Every retry on a new connection ends the same way.
   *   BROKEN_FETCH_BYE matches that BYE line.
   * - POP3 `RETR <n>` (and `TOP <n> 0`): `-ERR Message <n> expunged.`; the session stays usable
   *   and other messages can still be retrieved (the message is listed again in the next session).
   * Dovecot logs `open(<file>) failed: Permission denied` in its log. Needs Dovecot's mail
   * processes to run unprivileged (they do: as `nobody` when the harness runs as root).
   */
  breakMessage(user: string, folder: string, uid: number): Promise<void>;
  /**
   * Makes a whole folder unreadable for the mail user (its maildir directory mode 000): it is still
   * listed, but SELECT and EXAMINE fail. Returns what undoes it.
   */
  breakFolder(user: string, folder: string): Promise<() => void>;
  /** The last lines of Dovecot's log file. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** The untagged BYE Dovecot sends (then disconnects) on a body FETCH of a message broken with breakMessage(). */
export const BROKEN_FETCH_BYE = /^\* BYE FETCH failed: Internal error occurred\./;

const HOST = '127.0.0.1';
const DOVECOT = '/usr/sbin/dovecot';
const DOVEADM = '/usr/bin/doveadm';
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 500;
const COMMAND_TIMEOUT_MS = 10_000;
const SPECIAL_FOLDERS = [
  ['Sent', '\\Sent'],
  ['Drafts', '\\Drafts'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
] as const;

/** Every running instance, killed synchronously if the test process exits without stop(). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export async function startDovecot(options: DovecotOptions): Promise<Dovecot> {
  const password = options.password ?? 'secret';
  if (/[:\r\n]/.test(password) || /[:\r\n]/.test(options.master?.password ?? '')) throw new Error('dovecot harness: passwords cannot contain ":" or line breaks (passwd-file)');
  const dir = mkdtempSync(join(tmpdir(), 'coffer-dovecot-'));
  try {
    // Dovecot's auth process (default_internal_user) reads the passwd files, login processes
    // (default_login_user) are chrooted under base_dir, mail processes run as the mail user:
    // all of them need to get into the temp dir, which mkdtemp creates 0700.
    chmodSync(dir, 0o755);
    const identity = processIdentity();
    const mailDir = join(dir, 'mail');
    mkdirSync(mailDir);
    chownSync(mailDir, identity.mailUid, identity.mailGid);
    const certificate = await testCertificate();
    writeFileSync(join(dir, 'cert.pem'), certificate.cert);
    writeFileSync(join(dir, 'key.pem'), certificate.key, { mode: 0o600 });
    const usersFile = join(dir, 'users.passwd');
    writeFileSync(
      usersFile,
      options.users.map((user) => `${checkName(user)}:{PLAIN}${password}:${identity.mailUid}:${identity.mailGid}::${join(mailDir, user)}::\n`).join(''),
      { mode: 0o644 },
    );
    const masterFile = join(dir, 'master.passwd');
    if (options.master) writeFileSync(masterFile, `${checkName(options.master.name)}:{PLAIN}${options.master.password}\n`, { mode: 0o644 });

    const conf = join(dir, 'dovecot.conf');
    const logFile = join(dir, 'dovecot.log');
    let child: ChildProcess | undefined;
    let ports: Dovecot['ports'] | undefined;
    // Ports are picked by binding port 0 and released before Dovecot binds them: another process
    // may take one in between, so a failed bind is retried with new ports.
    for (let attempt = 1; ; attempt++) {
      ports = await freePorts();
      writeFileSync(conf, dovecotConf({ dir, mailDir, logFile, usersFile, masterFile: options.master ? masterFile : undefined, ports, specialUse: options.specialUse ?? true, identity }));
      try {
        child = await launch(conf, logFile, ports);
        break;
      } catch (err) {
        if (attempt < 3 && /Address already in use/.test(readTail(logFile) + String(err))) continue;
        throw err;
      }
    }
    return createHandle({ dir, conf, logFile, child, ports, password, master: options.master, mailDir });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

interface Identity {
  mailUid: number;
  mailGid: number;
  loginUser: string;
  internalUser: string;
}

function processIdentity(): Identity {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) {
    // As root, Dovecot drops privileges: mail processes as `nobody`, login as `dovenull`, auth
    // and other internal processes as `dovecot` (the users the Debian package creates).
    return { mailUid: 65534, mailGid: 65534, loginUser: 'dovenull', internalUser: 'dovecot' };
  }
  // Unprivileged: Dovecot can run everything as the current user if told so.
  const me = userInfo();
  return { mailUid: me.uid, mailGid: me.gid, loginUser: me.username, internalUser: me.username };
}

function checkName(name: string): string {
  if (!/^[A-Za-z0-9._@-]+$/.test(name)) throw new Error(`dovecot harness: unsupported user name ${JSON.stringify(name)}`);
  return name;
}

function dovecotConf(c: {
  dir: string;
  mailDir: string;
  logFile: string;
  usersFile: string;
  masterFile: string | undefined;
  ports: Dovecot['ports'];
  specialUse: boolean;
  identity: Identity;
}): string {
  const mailboxes = SPECIAL_FOLDERS.map(
    ([name, flag]) => `  mailbox ${name} {\n    auto = subscribe\n${c.specialUse ? `    special_use = ${flag}\n` : ''}  }\n`,
  ).join('');
  // The master passdb comes first; `result_success = continue` (the 2.3 spelling of `pass = yes`)
  // then requires the authorization identity to exist in the next passdb, whose password is not
  // checked for a master login.
  const master = c.masterFile
    ? `passdb {\n  driver = passwd-file\n  master = yes\n  args = scheme=PLAIN username_format=%u ${c.masterFile}\n  result_success = continue\n}\n`
    : '';
  return `# Generated by test/integration/dovecot/harness.ts; a private instance, nothing shared with the system one.
base_dir = ${c.dir}/run
state_dir = ${c.dir}/state
instance_name = ${c.dir.split('/').pop() ?? 'coffer-dovecot'}
log_path = ${c.logFile}
info_log_path = ${c.logFile}
debug_log_path = ${c.logFile}
protocols = imap pop3
listen = ${HOST}
shutdown_clients = yes
default_login_user = ${c.identity.loginUser}
default_internal_user = ${c.identity.internalUser}
first_valid_uid = ${Math.min(c.identity.mailUid, 500)}
first_valid_gid = 0

ssl = yes
ssl_cert = <${c.dir}/cert.pem
ssl_key = <${c.dir}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0

mail_location = maildir:${c.mailDir}/%u/Maildir
pop3_uidl_format = %08Xu%08Xv
namespace inbox {
  inbox = yes
  separator = /
  prefix =
${mailboxes}}

${master}passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${c.usersFile}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${c.usersFile}
}

# Failed logins (tests make them on purpose) would slow down every later login from 127.0.0.1 by
# 4-15 s (anvil's auth penalty; login_trusted_networks does not skip it in 2.3). Without the
# penalty socket the auth process turns the penalty off.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  inet_listener imap {
    address = ${HOST}
    port = ${c.ports.imap}
  }
  inet_listener imaps {
    address = ${HOST}
    port = ${c.ports.imaps}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = ${HOST}
    port = ${c.ports.pop3}
  }
  inet_listener pop3s {
    address = ${HOST}
    port = ${c.ports.pop3s}
    ssl = yes
  }
}
`;
}

async function freePorts(): Promise<Dovecot['ports']> {
  const servers = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const server = createServer();
      server.listen(0, HOST);
      await once(server, 'listening');
      return server;
    }),
  );
  const [imap, imaps, pop3, pop3s] = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  if (imap === undefined || imaps === undefined || pop3 === undefined || pop3s === undefined) throw new Error('dovecot harness: no free ports');
  return { imap, imaps, pop3, pop3s };
}

async function launch(conf: string, logFile: string, ports: Dovecot['ports']): Promise<ChildProcess> {
  // -F keeps the master in the foreground as our child: killing it (SIGTERM) stops the instance.
  // detached: its own process group, so stop() and the exit hook can kill every process of it.
  const child = spawn(DOVECOT, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  running.add(child);
  installExitHook();
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
    running.delete(child);
  });
  child.on('error', (err) => {
    exited = `could not be started: ${err.message}`;
    running.delete(child);
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  const pending = new Set(Object.values(ports));
  while (pending.size > 0) {
    if (exited !== undefined) throw new Error(`dovecot ${exited}\nstderr: ${stderr.trim()}\nlog:\n${readTail(logFile)}`);
    if (Date.now() > deadline) {
      await kill(child);
      throw new Error(`dovecot did not accept connections on ports ${[...pending].join(', ')} within ${START_TIMEOUT_MS} ms\nstderr: ${stderr.trim()}\nlog:\n${readTail(logFile)}`);
    }
    for (const port of [...pending]) if (await accepts(port)) pending.delete(port);
    if (pending.size > 0) await delay(25);
  }
  return child;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(1000);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    // Dovecot's master waits for its children on SIGTERM; a login process it forked just before
    // the signal can keep it waiting for seconds, so the rest of the group is killed after a moment.
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_GRACE_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
  killGroup(child, 'SIGKILL');
}

/** Signals the instance's process group (the master is spawned detached, as its leader). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: nothing left.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

function readTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** doveadm with the instance's config; rejects with its stderr and Dovecot's log tail. */
function doveadm(conf: string, logFile: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(DOVEADM, ['-c', conf, ...args], { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`doveadm ${args.join(' ')}: ${err.message}\n${stderr}\nlog:\n${readTail(logFile)}`));
      else resolve(stdout);
    });
  });
}

function createHandle(c: {
  dir: string;
  conf: string;
  logFile: string;
  child: ChildProcess;
  ports: Dovecot['ports'];
  password: string;
  master: { name: string; password: string } | undefined;
  mailDir: string;
}): Dovecot {
  const clients = new Map<string, Promise<ImapFlow>>();
  const queues = new Map<string, Promise<unknown>>();
  let stopped = false;

  async function openClient(user: string): Promise<ImapFlow> {
    const client = new ImapFlow({
      host: HOST,
      port: c.ports.imaps,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user, pass: c.password },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: COMMAND_TIMEOUT_MS,
      greetingTimeout: COMMAND_TIMEOUT_MS,
      socketTimeout: 30_000,
    });
    // A dropped connection emits 'error'; the next call notices `usable` is false and reconnects.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  async function clientFor(user: string): Promise<ImapFlow> {
    const cached = clients.get(user);
    if (cached) {
      const client = await cached.catch(() => undefined);
      if (client?.usable) return client;
      clients.delete(user);
    }
    const opening = openClient(user);
    clients.set(user, opening);
    opening.catch(() => clients.delete(user));
    return opening;
  }

  async function closeClient(user: string): Promise<void> {
    const cached = clients.get(user);
    clients.delete(user);
    const client = await cached?.catch(() => undefined);
    if (client) await withTimeout(client.logout(), 2000).catch(() => client.close());
  }

  /** Runs operations for one user one at a time: they select mailboxes on a shared connection. */
  function serial<T>(user: string, what: string, run: () => Promise<T>): Promise<T> {
    if (stopped) return Promise.reject(new Error('dovecot harness: stopped'));
    const previous = queues.get(user) ?? Promise.resolve();
    const next = previous.then(
      () => withTimeout(run(), COMMAND_TIMEOUT_MS, `dovecot harness: ${what} for ${user}`),
      () => withTimeout(run(), COMMAND_TIMEOUT_MS, `dovecot harness: ${what} for ${user}`),
    );
    queues.set(
      user,
      next.catch(() => undefined),
    );
    return next.catch(async (err: unknown) => {
      // The connection may be mid-command (a timeout) or gone: the next call starts afresh.
      await closeClient(user).catch(() => undefined);
      throw new Error(`dovecot harness: ${what} for ${user} failed: ${describe(err)}\nlog:\n${readTail(c.logFile, 10)}`, { cause: err });
    });
  }

  async function ensureFolder(client: ImapFlow, folder: string): Promise<void> {
    if (folder === 'INBOX') return;
    const existing = new Set((await client.list()).filter((box) => !box.flags.has('\\NonExistent') && !box.flags.has('\\Noselect')).map((box) => box.path));
    const parts = folder.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join('/');
      if (!existing.has(path)) await client.mailboxCreate(path);
    }
  }

  async function select(client: ImapFlow, folder: string): Promise<{ exists: number; uidValidity: bigint }> {
    // Always a fresh SELECT: another client (the code under test) may have changed the folder.
    if (client.mailbox) await client.mailboxClose();
    const box = await client.mailboxOpen(folder);
    return { exists: box.exists, uidValidity: box.uidValidity };
  }

  function folderPath(user: string, folder: string): string {
    const base = join(c.mailDir, user, 'Maildir');
    // Maildir++: INBOX is the Maildir itself, a/b is .a.b (the namespace separator is '/').
    return folder === 'INBOX' ? base : join(base, `.${folder.split('/').join('.')}`);
  }

  async function maildirFile(user: string, folder: string, uid: number): Promise<string> {
    // For maildir, the message GUID doveadm reports is the base of the file name (before ':2,').
    const out = await doveadm(c.conf, c.logFile, ['-f', 'flow', 'fetch', '-u', user, 'guid', 'mailbox', folder, 'uid', String(uid)]);
    const guid = /guid=(\S+)/.exec(out)?.[1];
    if (!guid) throw new Error(`no message with UID ${uid} in ${folder} (doveadm: ${out.trim() || 'no output'})`);
    const base = folderPath(user, folder);
    for (const sub of ['cur', 'new']) {
      const name = readdirSync(join(base, sub)).find((file) => file === guid || file.startsWith(`${guid}:`));
      if (name) return join(base, sub, name);
    }
    throw new Error(`maildir file ${guid} of UID ${uid} not found under ${base}`);
  }

  return {
    host: HOST,
    ports: c.ports,
    password: c.password,
    ...(c.master ? { master: c.master } : {}),
    dir: c.dir,

    append(user, folder, raw, options = {}) {
      return serial(user, `append to ${folder}`, async () => {
        const client = await clientFor(user);
        let result = await client.append(folder, raw, options.flags ?? [], options.internalDate).catch(() => false as const);
        if (!result) {
          await ensureFolder(client, folder);
          result = await client.append(folder, raw, options.flags ?? [], options.internalDate);
        }
        if (!result || result.uid === undefined) throw new Error('APPEND gave no APPENDUID');
        return result.uid;
      });
    },

    messages(user, folder) {
      return serial(user, `messages of ${folder}`, async () => {
        const client = await clientFor(user);
        const { exists } = await select(client, folder);
        if (exists === 0) return [];
        // imapflow hands over every untagged FETCH that arrives during the command, including
        // Dovecot's unsolicited flag updates (another session, e.g. a dropped POP3 one, set \\Seen):
        // a row without the body is such an update, and its flags are the newer ones.
        const rows = await client.fetchAll('1:*', { uid: true, flags: true, internalDate: true, source: true });
        const answers = new Map<number, SourceMessage>();
        const updatedFlags = new Map<number, string[]>();
        for (const row of rows) {
          const flags = [...(row.flags ?? [])].filter((flag) => flag !== '\\Recent').sort();
          if (row.source === undefined) {
            if (row.flags !== undefined) updatedFlags.set(row.seq, flags);
            continue;
          }
          const internalDate = row.internalDate;
          answers.set(row.seq, {
            uid: row.uid,
            flags,
            raw: row.source,
            internalDate: internalDate instanceof Date ? internalDate : new Date(internalDate ?? 0),
          });
          updatedFlags.delete(row.seq);
        }
        for (const [seq, flags] of updatedFlags) {
          const answer = answers.get(seq);
          if (answer) answer.flags = flags;
        }
        return [...answers.values()].sort((a, b) => a.uid - b.uid);
      });
    },

    move(user, from, uid, to) {
      return serial(user, `move ${from} UID ${uid} to ${to}`, async () => {
        const client = await clientFor(user);
        await ensureFolder(client, to);
        await select(client, from);
        const result = await client.messageMove(String(uid), to, { uid: true });
        const moved = result ? result.uidMap?.get(uid) : undefined;
        if (moved === undefined) throw new Error('MOVE gave no COPYUID (no such message?)');
        return moved;
      });
    },

    setFlags(user, folder, uid, flags) {
      return serial(user, `set flags in ${folder}`, async () => {
        const client = await clientFor(user);
        await select(client, folder);
        const ok = await client.messageFlagsSet(String(uid), flags, { uid: true });
        if (!ok) throw new Error(`STORE FLAGS on UID ${uid} failed`);
      });
    },

    createFolder(user, folder) {
      return serial(user, `create ${folder}`, async () => {
        const client = await clientFor(user);
        await ensureFolder(client, folder);
      });
    },

    uidValidity(user, folder) {
      return serial(user, `UIDVALIDITY of ${folder}`, async () => {
        const client = await clientFor(user);
        return (await select(client, folder)).uidValidity;
      });
    },

    resetUidValidity(user, folder) {
      return serial(user, `reset UIDVALIDITY of ${folder}`, async () => {
        await closeClient(user);
        const before = await (await clientFor(user)).status(folder, { uidValidity: true });
        await closeClient(user);
        const path = folderPath(user, folder);
        for (const file of readdirSync(path)) {
          if (file === 'dovecot-uidlist' || file.startsWith('dovecot.index')) unlinkSync(join(path, file));
        }
        const after = await (await clientFor(user)).status(folder, { uidValidity: true });
        if (!before || !after || before.uidValidity === after.uidValidity) {
          throw new Error(`UIDVALIDITY did not change (${String(before && before.uidValidity)} -> ${String(after && after.uidValidity)})`);
        }
      });
    },

    breakMessage(user, folder, uid) {
      return serial(user, `break UID ${uid} in ${folder}`, async () => {
        const file = await maildirFile(user, folder, uid);
        chmodSync(file, 0o000);
      });
    },

    breakFolder(user, folder) {
      return serial(user, `break folder ${folder}`, async () => {
        const path = folderPath(user, folder);
        const mode = statSync(path).mode & 0o7777;
        chmodSync(path, 0o000);
        return () => chmodSync(path, mode);
      });
    },

    logTail(lines = 30) {
      return readTail(c.logFile, lines);
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([...clients.keys()].map((user) => closeClient(user).catch(() => undefined)));
      await kill(c.child);
      rmSync(c.dir, { recursive: true, force: true });
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const extra = err as Error & { responseText?: unknown; serverResponseCode?: unknown };
    return typeof extra.responseText === 'string' ? `${err.message} (${extra.responseText})` : err.message;
  }
  return String(err);
}
