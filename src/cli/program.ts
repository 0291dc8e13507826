// The `coffer` command line: parses argv, loads the config (exit 2 when it is invalid), opens the
// store and runs one command. Exit codes: 0 success, 1 the command found or met a failure
// (failed imports, store damage, a missing archive), 2 bad configuration or usage.
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { openCoffer, type Coffer } from '../app.js';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { createEmlSource, createMaildirSource, createMboxSource, type FileSource } from '../connectors/files/index.js';
import { forwardToDaemon } from '../control/client.js';
import { controlSocketPath } from '../control/framing.js';
import { CofferError, describeError, ErrorCodes } from '../errors.js';
import { checkArchiveName, parseFolderPath } from './folder-path.js';
import { listFolders, printFolders } from './folders.js';
import { printImportSummary, runImport, type ImportTarget } from './import.js';
import { printLine, type Output } from './output.js';
import { printHistory, printProfileList, printRun, runProfileFolders, runProfileTest } from './profile.js';
import { runHashPassword } from './hash-password.js';
import { printReindexSummary, runReindex } from './reindex.js';
import { addSearchOptions, printSearchResults, runSearch, type SearchOptions } from './search.js';
import { findMessage, printMessage, writeRaw } from './show.js';
import { collectStats, printStats } from './stats.js';
import { printVerifyReport, runVerify } from './verify.js';

export const ExitCodes = { Ok: 0, Failure: 1, BadConfig: 2 } as const;

export interface CliContext extends Output {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Set when the command runs inside the daemon (via the control socket): its open Coffer. */
  coffer?: Coffer;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

interface CommonOptions {
  config?: string;
  json?: boolean;
}

export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  let exitCode: number = ExitCodes.Ok;
  const loadOptions = (options: CommonOptions) => ({ ...(options.config === undefined ? {} : { file: options.config }), env: context.env, cwd: context.cwd });
  const withCoffer = async (options: CommonOptions, action: (coffer: Coffer, config: Config) => Promise<number>): Promise<void> => {
    if (context.coffer) {
      exitCode = await action(context.coffer, context.coffer.config);
      return;
    }
    const config = loadConfig(loadOptions(options));
    // While the daemon runs it holds the store: the command runs there and prints the same.
    const forwarded = await forwardToDaemon(controlSocketPath(config.dataDir), { argv: [...argv], cwd: context.cwd }, context);
    if (forwarded !== null) {
      exitCode = forwarded;
      return;
    }
    const coffer = await openCoffer(config);
    try {
      exitCode = await action(coffer, config);
    } finally {
      await coffer.close();
    }
  };

  const program = new Command('coffer')
    .description('Coffer: an email archive server. Serves SMTP journal endpoints; imports, verifies and inspects the archive.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => context.stdout.write(text), writeErr: (text) => context.stderr.write(text) })
    .showHelpAfterError();
  const command = (parent: Command, name: string, description: string): Command =>
    parent
      .command(name)
      .description(description)
      .addOption(new Option('-c, --config <file>', 'configuration file (default: $COFFER_CONFIG, else the embedded default)'));

  const importCommand = program.command('import').description('import messages from files into an archive');
  const importAction = (makeSource: (path: string, options: ImportOptions) => FileSource, target: (options: ImportOptions, config: Config) => ImportTarget) =>
    async (path: string, options: ImportOptions): Promise<void> =>
      withCoffer(options, async (coffer, config) => {
        // Paths are the caller's: relative to its working directory, also when run in the daemon.
        const summary = await runImport(coffer, makeSource(resolve(context.cwd, path), options), target(options, config), context);
        printImportSummary(summary, context, options.json === true);
        return summary.failed > 0 ? ExitCodes.Failure : ExitCodes.Ok;
      });
  const folderOf = (options: ImportOptions, config: Config): string[] => options.folder ?? [config.folders.received];

  command(importCommand, 'eml', 'import a directory of .eml files (one message per file)')
    .argument('<dir>', 'directory (or a single file)')
    .requiredOption('-a, --archive <name>', 'target archive (created if missing)', checkArchiveName)
    .option('-f, --folder <path>', 'target folder, "/"-separated (default: the received folder, Inbox)', parseFolderPath)
    .option('-r, --recursive', 'descend into subdirectories; they become subfolders')
    .option('--json', 'print the summary as JSON')
    .action(importAction((dir, o) => createEmlSource(dir, { recursive: o.recursive === true }), (o, config) => ({ archive: o.archive, folder: folderOf(o, config) })));

  command(importCommand, 'mbox', 'import an mbox file')
    .argument('<file>', 'mbox file')
    .requiredOption('-a, --archive <name>', 'target archive (created if missing)', checkArchiveName)
    .option('-f, --folder <path>', 'target folder, "/"-separated (default: the received folder, Inbox)', parseFolderPath)
    .option('--json', 'print the summary as JSON')
    .action(importAction((file) => createMboxSource(file), (o, config) => ({ archive: o.archive, folder: folderOf(o, config) })));

  command(importCommand, 'maildir', 'import a Maildir; its subfolders become archive folders')
    .argument('<dir>', 'Maildir directory (with cur/ and new/)')
    .requiredOption('-a, --archive <name>', 'target archive (created if missing)', checkArchiveName)
    .option('-f, --folder <path>', 'put the Maildir under this folder instead of the archive top level', parseFolderPath)
    .option('--json', 'print the summary as JSON')
    .action(
      importAction(
        (dir) => createMaildirSource(dir),
        (o, config) => {
          const base = o.folder ?? [];
          // The Maildir's own messages are its inbox; subfolders sit beside it (or under --folder).
          return { archive: o.archive, folder: base, rootFolder: base.length ? base : [config.folders.received] };
        },
      ),
    );

  command(program, 'verify', 're-hash every stored message and check every reference')
    .option('--json', 'print the report as JSON')
    .action(async (options: CommonOptions) =>
      withCoffer(options, async (coffer) => {
        const report = await runVerify(coffer, context);
        printVerifyReport(report, context, options.json === true);
        return report.problems.length ? ExitCodes.Failure : ExitCodes.Ok;
      }),
    );

  command(program, 'stats', 'messages and bytes per archive, and store totals')
    .option('--json', 'print as JSON')
    .action(async (options: CommonOptions) =>
      withCoffer(options, async (coffer) => {
        printStats(await collectStats(coffer), context, options.json === true);
        return ExitCodes.Ok;
      }),
    );

  command(program, 'folders', 'the folder tree of an archive with counts, UIDVALIDITY and UIDNEXT')
    .argument('<archive>', 'archive name')
    .option('--json', 'print as JSON')
    .action(async (archive: string, options: CommonOptions) =>
      withCoffer(options, async (coffer) => {
        printFolders(archive, await listFolders(coffer, archive), context, options.json === true);
        return ExitCodes.Ok;
      }),
    );

  command(program, 'show', 'show one archived message')
    .argument('<archive>', 'archive name')
    .argument('<folder>', 'folder path, "/"-separated')
    .argument('<uid>', 'message UID', parseUid)
    .option('--raw', 'write exactly the archived bytes to stdout')
    .option('--json', 'print the metadata as JSON')
    .action(async (archive: string, folder: string, uid: number, options: CommonOptions & { raw?: boolean }) =>
      withCoffer(options, async (coffer) => {
        const shown = await findMessage(coffer, archive, folder, uid);
        if (options.raw) await writeRaw(coffer, shown, context);
        else printMessage(shown, context, options.json === true);
        return ExitCodes.Ok;
      }),
    );

  addSearchOptions(
    command(program, 'search', 'search the archives (MailStore quick-search syntax), newest first')
      .argument('<query>', 'words, "phrases", auto*, *example.com, Me?er, subject: from: to: cc: bcc: bcontent: acontent: attachment:, -exclusions; "" for all'),
  ).action(async (query: string, options: SearchOptions & CommonOptions) =>
    withCoffer(options, async (coffer) => {
      printSearchResults(await runSearch(coffer, query, options), context, options.json === true);
      return ExitCodes.Ok;
    }),
  );

  command(program, 'reindex', 'rebuild the search index from the store')
    .option('--json', 'print the summary as JSON')
    .action(async (options: CommonOptions) =>
      withCoffer(options, async (coffer) => {
        printReindexSummary(await runReindex(coffer), context, options.json === true);
        return ExitCodes.Ok;
      }),
    );

  const profileCommand = program.command('profile').description('archiving profiles: pull mail from IMAP and POP3 mailboxes');
  command(profileCommand, 'list', 'the configured profiles, their schedules and last runs')
    .option('--json', 'print as JSON')
    .action(async (options: CommonOptions) =>
      withCoffer(options, async (coffer) => {
        await printProfileList(coffer, context, options.json === true);
        return ExitCodes.Ok;
      }),
    );
  command(profileCommand, 'run', 'run a profile now (in the daemon when it runs) and print what it did')
    .argument('<name>', 'profile name')
    .option('--json', 'print the run record as JSON')
    .action(async (name: string, options: CommonOptions) =>
      withCoffer(options, async (coffer) => {
        const run = await coffer.profiles().run(name, 'manual');
        printRun(run, context, options.json === true);
        return run.status === 'ok' ? ExitCodes.Ok : ExitCodes.Failure;
      }),
    );
  command(profileCommand, 'history', 'the recent runs of a profile, newest first')
    .argument('<name>', 'profile name')
    .option('-n, --limit <count>', 'how many runs', parseCount, 20)
    .option('--json', 'print as JSON, with every error')
    .action(async (name: string, options: CommonOptions & { limit: number }) =>
      withCoffer(options, async (coffer) => {
        printHistory(await coffer.profiles().history(name, options.limit), context, options.json === true);
        return ExitCodes.Ok;
      }),
    );
  const probeAction = (probe: typeof runProfileTest) => async (name: string, options: CommonOptions) => {
    const config = context.coffer?.config ?? loadConfig(loadOptions(options));
    const profile = config.profiles.find((candidate) => candidate.name === name);
    if (profile === undefined) throw new CofferError(ErrorCodes.NotFound, `no profile named "${name}" is configured`);
    exitCode = (await probe(profile, config, context.env, context, options.json === true)) ? ExitCodes.Ok : ExitCodes.Failure;
  };
  command(profileCommand, 'test', 'connect to each mailbox of a profile, log in and list its folders; archives nothing')
    .argument('<name>', 'profile name')
    .option('--json', 'print as JSON')
    .action(probeAction(runProfileTest));
  command(profileCommand, 'folders', 'the effective folder list: which folders a run archives, which hold sent mail, and why')
    .argument('<name>', 'profile name')
    .option('--json', 'print as JSON')
    .action(probeAction(runProfileFolders));

  program
    .command('hash-password')
    .description('print the scrypt hash of a password read from standard input, for passwordHash in the config')
    .action(async () => {
      if (context.coffer) throw new CofferError(ErrorCodes.InvalidArgument, 'hash-password runs locally, not in the daemon');
      await runHashPassword(context.stdin ?? process.stdin, context);
    });

  command(program, 'serve', 'run the daemon: SMTP journal endpoints and the control socket')
    .action(async (options: CommonOptions) => {
      if (context.coffer) throw new CofferError(ErrorCodes.InvalidArgument, 'the daemon is already running');
      // Loaded here: the SMTP and TLS stack is large, and no other command needs it.
      const [{ runServe }, { serveComponents }] = await Promise.all([import('../daemon/serve.js'), import('../daemon/components.js')]);
      exitCode = await runServe(
        { ...(options.config === undefined ? {} : { configFile: options.config }), env: context.env, cwd: context.cwd, runCommand: (request, output, coffer) => runCli(request.argv, { ...output, env: context.env, cwd: request.cwd, coffer }) },
        serveComponents,
      );
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, context);
  }
}

interface ImportOptions extends CommonOptions {
  archive: string;
  folder?: string[];
  recursive?: boolean;
}

function parseUid(value: string): number {
  const uid = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(uid) || uid < 1 || uid > 0xffffffff) {
    throw new CofferError(ErrorCodes.InvalidArgument, `invalid uid "${value}": a number from 1 to 4294967295`);
  }
  return uid;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > 10_000) throw new CofferError(ErrorCodes.InvalidArgument, `invalid count "${value}": a number from 1 to 10000`);
  return count;
}

function reportError(err: unknown, context: CliContext): number {
  if (err instanceof CommanderError) {
    // Help and version requests end through here too, with exit code 0.
    return err.exitCode === 0 ? ExitCodes.Ok : ExitCodes.BadConfig;
  }
  if (err instanceof ConfigError) {
    for (const problem of err.problems) printLine(context.stderr, problem);
    return ExitCodes.BadConfig;
  }
  if (err instanceof CofferError && (err.code === ErrorCodes.InvalidArgument || err.code === ErrorCodes.QueryInvalid)) {
    printLine(context.stderr, `coffer: ${err.message}`);
    return ExitCodes.BadConfig;
  }
  if (err instanceof CofferError) {
    printLine(context.stderr, `coffer: ${err.message}`);
    return ExitCodes.Failure;
  }
  printLine(context.stderr, `coffer: unexpected error: ${describeError(err)}`);
  if (err instanceof Error && err.stack) printLine(context.stderr, err.stack);
  return ExitCodes.Failure;
}
