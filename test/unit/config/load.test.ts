// Tests for config loading: the shipped example and dev files, the embedded default and its env
// overrides, file selection, path resolution, and hostile input. Hostile cases assert the exact
// `file:line:col key: message` text, because administrators and the e2e tests rely on it.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import * as z from 'zod';
import { ErrorCodes, isCofferError } from '../../../src/errors.js';
import { ConfigError, createConfigSchema, loadConfig } from '../../../src/config/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const exampleFile = join(repoRoot, 'config/coffer.example.yaml');
const devFile = join(repoRoot, 'config/coffer.dev.yaml');

const tempDir = mkdtempSync(join(tmpdir(), 'coffer-config-test-'));
test.after.always(() => rmSync(tempDir, { recursive: true, force: true }));

let counter = 0;
/** Writes `text` to a fresh file in the temp dir and returns its absolute path. */
function writeConfig(text: string): string {
  counter += 1;
  const file = join(tempDir, `config-${counter}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Loads `text` as a file and returns the reported problems (fails the test if it loads). */
function problemsOf(t: ExecutionContext, text: string): { file: string; problems: string[] } {
  const file = writeConfig(text);
  const error = t.throws(() => loadConfig({ file, env: {} }), { instanceOf: ConfigError });
  return { file, problems: error?.problems ?? [] };
}

const HASH = 'scrypt$abc';

// --- shipped files ------------------------------------------------------------------------------

test('the example config loads', (t) => {
  const config = loadConfig({ file: exampleFile, env: {} });
  t.is(config.configFile, exampleFile);
  t.true(config.archives.length > 0);
  t.true(config.users.length > 0);
});

/** Every key name the schema knows, walking through wrappers (default, optional, ...). */
function schemaKeys(schema: z.ZodType, into = new Set<string>()): Set<string> {
  if (schema instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
      into.add(key);
      schemaKeys(child, into);
    }
  } else if (
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodNullable
  ) {
    schemaKeys(schema.unwrap() as z.ZodType, into);
  } else if (schema instanceof z.ZodArray) {
    schemaKeys(schema.element as z.ZodType, into);
  }
  return into;
}

test('the example config documents every key', (t) => {
  const text = readFileSync(exampleFile, 'utf8');
  const keys = schemaKeys(createConfigSchema({ env: {}, cwd: '/' }));
  t.true(keys.size > 20, 'schema walk found the keys');
  // A key counts as documented when it appears as `key:` at the start of a line, live or
  // commented out (optional sections such as encryption are shown commented).
  const missing = [...keys].filter((key) => !new RegExp(`^\\s*(#\\s*)?(- )?${key}:`, 'm').test(text));
  t.deepEqual(missing, []);
});

test('the dev config loads with dataDir next to it and two archives', (t) => {
  const config = loadConfig({ file: devFile, env: {} });
  t.is(config.dataDir, join(repoRoot, 'config/data-dev'));
  t.is(config.archives.length, 2);
});

// --- embedded default, env and file selection -------------------------------------------------

test('embedded default: schema defaults plus a loopback demo journal endpoint, dataDir is <cwd>/data', (t) => {
  const cwd = join(tempDir, 'work');
  const config = loadConfig({ env: {}, cwd });
  t.is(config.configFile, null);
  t.is(config.dataDir, join(cwd, 'data'));
  t.is(config.log.level, 'info');
  t.deepEqual(config.folders, { received: 'Inbox', sent: 'Sent' });
  t.deepEqual(config.archives, [{ name: 'journal', aliases: [] }]);
  t.deepEqual(config.users, []);
  t.false(config.compliance.adminArchiveAccess);
  t.deepEqual(config.smtp.listen, ['127.0.0.1:2525']);
  t.is(config.smtp.endpoints.length, 1);
  t.like(config.smtp.endpoints[0], { address: 'journal@localhost', archive: 'journal', acceptAnyRecipient: true, allowFrom: ['127.0.0.0/8', '::1/128'] });
  // A config file starts from the schema defaults only: no endpoint it did not ask for.
  t.deepEqual(loadConfig({ file: writeConfig('log: { level: warn }\n'), env: {} }).smtp.endpoints, []);
  t.deepEqual(config.imap, { starttls: '127.0.0.1:1143', tls: '127.0.0.1:1993', auditRetrievals: true, idleTimeout: 30 * 60_000 });
  t.false('encryption' in config);
  t.false('tls' in config);
});

test('$COFFER_DATA overrides the default dataDir (relative to cwd)', (t) => {
  const cwd = join(tempDir, 'work');
  t.is(loadConfig({ env: { COFFER_DATA: '/srv/coffer' }, cwd }).dataDir, '/srv/coffer');
  t.is(loadConfig({ env: { COFFER_DATA: 'store' }, cwd }).dataDir, join(cwd, 'store'));
  // An explicit dataDir in the file wins over the environment.
  const file = writeConfig('dataDir: /explicit\n');
  t.is(loadConfig({ file, env: { COFFER_DATA: '/srv/coffer' } }).dataDir, '/explicit');
});

test('$COFFER_CONFIG picks the file; options.file wins over it', (t) => {
  const fromEnv = writeConfig('log: { level: debug }\n');
  const fromOption = writeConfig('log: { level: warn }\n');
  const viaEnv = loadConfig({ env: { COFFER_CONFIG: fromEnv } });
  t.is(viaEnv.configFile, fromEnv);
  t.is(viaEnv.log.level, 'debug');
  t.is(loadConfig({ file: fromOption, env: { COFFER_CONFIG: fromEnv } }).log.level, 'warn');
});

test('relative paths resolve against the config file directory', (t) => {
  const file = writeConfig('dataDir: store\nencryption: { keyFile: keys/master.key }\ntls: { cert: c.pem, key: /abs/k.pem }\n');
  const config = loadConfig({ file, env: {}, cwd: '/somewhere/else' });
  t.is(config.dataDir, join(tempDir, 'store'));
  t.is(config.encryption?.keyFile, join(tempDir, 'keys/master.key'));
  t.deepEqual(config.tls, { cert: join(tempDir, 'c.pem'), key: '/abs/k.pem' });
  // Default ./data is relative to the file too, not to cwd.
  t.is(loadConfig({ file: writeConfig('{}\n'), env: {}, cwd: '/x' }).dataDir, join(tempDir, 'data'));
});

test('the result is deeply frozen and typed defaults are filled in', (t) => {
  const file = writeConfig(
    'archives:\n  - name: alice\n    address: alice@example.com\nusers:\n  - name: u\n    passwordHash: "scrypt$x"\n    archives: { alice: "read,delete" }\n',
  );
  const config = loadConfig({ file, env: {} });
  t.true(Object.isFrozen(config));
  t.true(Object.isFrozen(config.archives));
  t.true(Object.isFrozen(config.archives[0]));
  t.true(Object.isFrozen(config.archives[0]?.aliases));
  t.true(Object.isFrozen(config.users[0]?.archives));
  t.deepEqual(config.archives[0]?.aliases, []);
  t.is(config.users[0]?.role, 'user');
  t.is(config.users[0]?.archives.alice, 'read,delete');
});

test('an empty file, or one with only comments, means all defaults', (t) => {
  for (const text of ['', '# nothing here\n\n']) {
    const file = writeConfig(text);
    const config = loadConfig({ file, env: {} });
    t.is(config.configFile, file);
    t.is(config.dataDir, join(tempDir, 'data'));
    t.is(config.imap.tls, '127.0.0.1:1993');
  }
});

test('null disables an IMAP listener', (t) => {
  const config = loadConfig({ file: writeConfig('imap:\n  starttls: null\n  tls: "[::1]:993"\n'), env: {} });
  t.like(config.imap, { starttls: null, tls: '[::1]:993' });
});

// --- hostile input ------------------------------------------------------------------------------

test('unknown top-level key', (t) => {
  const { file, problems } = problemsOf(t, 'dataDir: /d\ndatadir: /e\n');
  t.deepEqual(problems, [`${file}:2:1 datadir: unknown key "datadir"`]);
});

test('unknown nested key points at the key itself', (t) => {
  const { file, problems } = problemsOf(t, 'archives:\n  - name: alice\n    adress: alice@example.com\n');
  t.deepEqual(problems, [`${file}:3:5 archives[0].adress: unknown key "adress"`]);
});

test('wrong type', (t) => {
  const { file, problems } = problemsOf(t, 'log:\n  level: info\ncompliance:\n  adminArchiveAccess: "yes"\n');
  t.deepEqual(problems, [`${file}:4:3 compliance.adminArchiveAccess: expected a boolean, got the string "yes"`]);
});

test('duplicate archive names, ignoring case', (t) => {
  const { file, problems } = problemsOf(t, 'archives:\n  - name: alice\n  - name: bob\n  - name: Alice\n');
  t.deepEqual(problems, [`${file}:4:5 archives[2].name: duplicate archive name "Alice"`]);
});

test('the same address on two archives, primary or alias, ignoring case', (t) => {
  const { file, problems } = problemsOf(
    t,
    [
      'archives:',
      '  - name: alice',
      '    address: alice@example.com',
      '    aliases: [a@example.com]',
      '  - name: bob',
      '    address: A@Example.com',
      '    aliases:',
      '      - ALICE@example.COM',
      '',
    ].join('\n'),
  );
  t.deepEqual(problems, [
    `${file}:6:5 archives[1].address: address "A@Example.com" is already used by archive "alice"`,
    `${file}:8:9 archives[1].aliases[0]: address "ALICE@example.COM" is already used by archive "alice"`,
  ]);
});

test('invalid email address', (t) => {
  const { file, problems } = problemsOf(t, 'archives:\n  - name: alice\n    aliases: [ok@example.com, "not an@address"]\n');
  t.deepEqual(problems, [`${file}:3:31 archives[0].aliases[1]: invalid email address "not an@address"`]);
});

test('a grant naming an archive that is not configured', (t) => {
  const { file, problems } = problemsOf(
    t,
    `archives:\n  - name: alice\nusers:\n  - name: u\n    passwordHash: "${HASH}"\n    archives:\n      alice: read\n      bob: read\n      Alice: read\n`,
  );
  t.deepEqual(problems, [
    `${file}:8:7 users[0].archives.bob: archive "bob" is not configured`,
    `${file}:9:7 users[0].archives.Alice: archive "Alice" is not configured (did you mean "alice"?)`,
  ]);
});

test('bad YAML syntax is reported with its position', (t) => {
  const { file, problems } = problemsOf(t, 'archives:\n  - name: "alice\n');
  // The error is at the end of the input, outside every node, hence "(top level)".
  t.deepEqual(problems, [`${file}:3:1 (top level): Missing closing "quote`]);
  const duplicate = problemsOf(t, 'log: { level: info }\nlog: { level: debug }\n');
  t.deepEqual(duplicate.problems, [`${duplicate.file}:2:1 log: Map keys must be unique`]);
});

test('a document that is not a mapping', (t) => {
  const { file, problems } = problemsOf(t, '- dataDir: /d\n- log: {}\n');
  t.deepEqual(problems, [`${file}:1:1 (top level): expected a mapping, got a list`]);
  const scalar = problemsOf(t, '\n\n  just a string\n');
  t.deepEqual(scalar.problems, [`${scalar.file}:3:3 (top level): expected a mapping, got the string "just a string"`]);
});

test('a missing file names the file', (t) => {
  const file = join(tempDir, 'does-not-exist.yaml');
  const error = t.throws(() => loadConfig({ file, env: {} }), { instanceOf: ConfigError });
  t.deepEqual(error?.problems, [`${file}: cannot read configuration file (no such file)`]);
  t.true(isCofferError(error, ErrorCodes.ConfigInvalid));
  // The same through $COFFER_CONFIG, relative to cwd.
  const viaEnv = t.throws(() => loadConfig({ env: { COFFER_CONFIG: 'nope.yaml' }, cwd: tempDir }), {
    instanceOf: ConfigError,
  });
  t.deepEqual(viaEnv?.problems, [`${join(tempDir, 'nope.yaml')}: cannot read configuration file (no such file)`]);
});

test('a directory is not a readable config file', (t) => {
  const error = t.throws(() => loadConfig({ file: tempDir, env: {} }), { instanceOf: ConfigError });
  t.deepEqual(error?.problems, [`${tempDir}: cannot read configuration file (is a directory)`]);
});

test('all problems are reported together, in file order', (t) => {
  const text = [
    'dataDir: 42', // 1
    'log: { level: loud, colour: true }', // 2
    'tls: { cert: /c.pem }', // 3
    'archives:', // 4
    '  - name: a/b', // 5
    '  - name: ok', // 6
    '    address: nobody', // 7
    'users:', // 8
    '  - name: root', // 9
    '    passwordHash: hunter2', // 10
    '    role: god', // 11
    '  - name: ROOT', // 12
    `    passwordHash: "${HASH}"`, // 13
    'smtp:', // 14
    '  listen: ["0.0.0.0:25", "0.0.0.0:0", "::1:25"]', // 15
    '  endpoints:', // 16
    '    - address: journal@example.com', // 17
    '      archive: journal', // 18
    '      allowFrom: [10.0.0.0/8, 10.0.0.0/33, "::1"]', // 19
    'imap: { starttls: "[::1]:143", tls: "[nope]:993" }', // 20
    'profiles:', // 21
    '  - { name: p, kind: mailbox, server: {} }', // 22
    'retention: [{}]', // 23
    '',
  ].join('\n');
  const { file, problems } = problemsOf(t, text);
  t.deepEqual(problems, [
    `${file}:1:1 dataDir: expected a string, got number 42`,
    `${file}:2:8 log.level: must be one of "trace", "debug", "info", "warn", "error", "fatal", "silent"; got the string "loud"`,
    `${file}:2:21 log.colour: unknown key "colour"`,
    `${file}:3:1 tls.key: tls needs both cert and key`,
    `${file}:5:5 archives[0].name: archive names are 1-64 characters: letters, digits, ".", "_", "-" and "@"`,
    `${file}:7:5 archives[1].address: invalid email address "nobody"`,
    `${file}:10:5 users[0].passwordHash: must be a "scrypt$..." hash as printed by \`coffer hash-password\``,
    `${file}:11:5 users[0].role: must be one of "user", "admin", "auditor"; got the string "god"`,
    `${file}:12:5 users[1].name: duplicate user name "ROOT"`,
    `${file}:15:26 smtp.listen[1]: port 0 is out of range 1-65535`,
    `${file}:15:39 smtp.listen[2]: expected "host:port" or "[ipv6]:port", got "::1:25"`,
    `${file}:18:7 smtp.endpoints[0].archive: archive "journal" is not configured`,
    `${file}:19:31 smtp.endpoints[0].allowFrom[1]: prefix length "33" must be 0-32 for an IPv4 address`,
    `${file}:19:44 smtp.endpoints[0].allowFrom[2]: expected a CIDR block such as "10.0.0.0/8" or "::1/128", got "::1"`,
    `${file}:20:32 imap.tls: "nope" is not an IPv6 address`,
    `${file}:22:31 profiles[0].server.host: required`,
    `${file}:23:13 retention[0]: retention policies are not implemented yet`,
  ]);
});

test('a journal endpoint address may not also be an archive address', (t) => {
  const { file, problems } = problemsOf(
    t,
    'archives:\n  - name: j\n    address: journal@example.com\nsmtp:\n  endpoints:\n    - { address: Journal@example.com, archive: j }\n',
  );
  t.deepEqual(problems, [
    `${file}:6:9 smtp.endpoints[0].address: address "Journal@example.com" is already used by archive "j"`,
  ]);
});

test('smtp: endpoint defaults, and sizes and durations with units become numbers', (t) => {
  const file = writeConfig(
    [
      'archives: [{ name: j }, { name: k }]',
      'smtp:',
      '  hostname: archive.example.com',
      '  socketTimeout: 1.5m',
      '  closeTimeout: 500ms',
      '  endpoints:',
      '    - { address: journal@example.com, archive: j }',
      '    - address: other@example.com',
      '      archive: k',
      '      maxMessageSize: 1.5KB',
      '      requireTLS: true',
      '      acceptAnyRecipient: true',
      `      auth: { users: [{ name: mta, passwordHash: "scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==" }] }`,
      '',
    ].join('\n'),
  );
  const { smtp } = loadConfig({ file, env: {} });
  t.is(smtp.hostname, 'archive.example.com');
  t.is(smtp.socketTimeout, 90_000);
  t.is(smtp.closeTimeout, 500);
  t.deepEqual(smtp.endpoints[0], {
    address: 'journal@example.com',
    archive: 'j',
    allowFrom: ['127.0.0.0/8', '::1/128'],
    requireTLS: false,
    acceptAnyRecipient: false,
    maxMessageSize: 25 * 1024 * 1024,
    maxRecipients: 1000,
  });
  t.is(smtp.endpoints[1]?.maxMessageSize, 1536);
  t.true(smtp.endpoints[1]?.requireTLS);
  t.is(smtp.endpoints[1]?.auth?.users[0]?.name, 'mta');
});

test('smtp: bad sizes, durations, limits, hashes and two any-recipient endpoints are reported', (t) => {
  const text = [
    'archives: [{ name: j }]', // 1
    'smtp:', // 2
    '  listen: []', // 3
    '  socketTimeout: 30', // 4
    '  closeTimeout: soon', // 5
    '  maxConnections: 0', // 6
    '  endpoints:', // 7
    '    - address: a@example.com', // 8
    '      archive: j', // 9
    '      maxMessageSize: 25XB', // 10
    '      maxRecipients: 0', // 11
    '      acceptAnyRecipient: true', // 12
    '      auth: { users: [{ name: u, passwordHash: "scrypt$abc" }, { name: u, passwordHash: "scrypt$1$1$1$YQ==$YQ==" }] }', // 13
    '    - { address: b@example.com, archive: j, acceptAnyRecipient: true, maxMessageSize: 0MB, auth: { users: [] } }', // 14
    '',
  ].join('\n');
  const { file, problems } = problemsOf(t, text);
  t.deepEqual(problems, [
    `${file}:3:3 smtp.listen: list at least one address`,
    `${file}:4:3 smtp.socketTimeout: durations need a unit, such as "30s" or "500ms"`,
    `${file}:5:3 smtp.closeTimeout: expected a duration such as "30s", "500ms", "5m" or "1h", got "soon"`,
    `${file}:6:3 smtp.maxConnections: Too small: expected number to be >=1`,
    `${file}:10:7 smtp.endpoints[0].maxMessageSize: expected a size such as "25MB", "512KB" or "1GB", got "25XB"`,
    `${file}:11:7 smtp.endpoints[0].maxRecipients: Too small: expected number to be >=1`,
    `${file}:13:34 smtp.endpoints[0].auth.users[0].passwordHash: must be a "scrypt$N$r$p$salt$hash" hash as printed by \`coffer hash-password\``,
    `${file}:13:66 smtp.endpoints[0].auth.users[1].name: duplicate user name "u"`,
    `${file}:14:45 smtp.endpoints[1].acceptAnyRecipient: only one endpoint may accept any recipient (smtp.endpoints[0] already does)`,
    `${file}:14:71 smtp.endpoints[1].maxMessageSize: expected a size such as "25MB", "512KB" or "1GB", got "0MB"`,
    `${file}:14:100 smtp.endpoints[1].auth.users: list at least one user, or leave auth out`,
  ]);
});

test('smtp: a fractional recipient limit is refused', (t) => {
  const { file, problems } = problemsOf(t, 'smtp:\n  maxConnections: 1.5\n');
  t.deepEqual(problems, [`${file}:2:3 smtp.maxConnections: expected a int, got number 1.5`]);
});

test('archive names that are not identifiers are quoted in key paths', (t) => {
  const { file, problems } = problemsOf(
    t,
    `users:\n  - name: u\n    passwordHash: "${HASH}"\n    archives: { "a.b@x": read }\n`,
  );
  t.deepEqual(problems, [`${file}:4:17 users[0].archives["a.b@x"]: archive "a.b@x" is not configured`]);
});

test('the error message lists every problem and the code is ConfigInvalid', (t) => {
  const file = writeConfig('a: 1\nb: 2\n');
  const error = t.throws(() => loadConfig({ file, env: {} }), { instanceOf: ConfigError });
  t.is(error?.code, ErrorCodes.ConfigInvalid);
  t.is(error?.message, `invalid configuration (2 problems):\n${file}:1:1 a: unknown key "a"\n${file}:2:1 b: unknown key "b"`);
});
