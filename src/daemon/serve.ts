// `coffer serve`: the long-running daemon. Opens the store, starts its components in order (the
// control socket first, so the CLI works as soon as anything accepts mail), then waits for
// signals: SIGHUP reloads the YAML (a bad file is refused and the old config stays in force),
// SIGTERM/SIGINT stop accepting, finish in-flight work, stop components in reverse, close the store.
// Signals are handled from the first moment: a SIGTERM while the daemon starts (its SMTP port may
// already accept) stops it cleanly once started, rather than Node's default of dying mid-start.
import { openCoffer, type Coffer } from '../app.js';
import type { Output } from '../cli/output.js';
import { loadConfig, type Config } from '../config/index.js';
import { controlSocketPath, type ControlRequest } from '../control/framing.js';
import { createControlComponent } from '../control/server.js';
import { Lifecycle, type Component } from '../lifecycle.js';
import { createDaemonLogger, flushLogger, type Logger } from '../log/logger.js';

export interface ServeOptions {
  configFile?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Runs a CLI command line inside the daemon (the control socket's handler). */
  runCommand: (request: ControlRequest, output: Output, coffer: Coffer) => Promise<number>;
}

export type ComponentFactory = (context: { config: Config; coffer: Coffer; logger: Logger }) => Promise<Component>;

export async function runServe(options: ServeOptions, factories: readonly ComponentFactory[] = []): Promise<number> {
  const signals = new DaemonSignals();
  try {
    return await serve(options, factories, signals);
  } finally {
    signals.dispose();
  }
}

async function serve(options: ServeOptions, factories: readonly ComponentFactory[], signals: DaemonSignals): Promise<number> {
  const load = (): Config => loadConfig({ ...(options.configFile === undefined ? {} : { file: options.configFile }), env: options.env, cwd: options.cwd });
  const config = load();
  const logger = createDaemonLogger(config.log.level);
  const indexLogger = logger.child({ component: 'index' });
  const coffer = await openCoffer(config, {
    onIndexError: (err) => indexLogger.error({ err }, 'search index update failed; it resumes from its cursor'),
    logger,
    env: options.env,
  });
  const lifecycle = new Lifecycle(logger);
  try {
    const control = createControlComponent({
      socketPath: controlSocketPath(config.dataDir),
      run: (request, output) => options.runCommand(request, output, coffer),
      logger: logger.child({ component: 'control' }),
    });
    const components = [control];
    for (const factory of factories) components.push(await factory({ config, coffer, logger }));
    await lifecycle.start(components);
  } catch (err) {
    await coffer.close();
    await flushLogger(logger);
    throw err;
  }
  logger.info({ dataDir: config.dataDir, configFile: config.configFile }, 'coffer is running');
  // Whatever the store holds beyond the index's cursor (a crash, an upgrade that dropped the index)
  // is indexed in the background; searches wait for it, intake does not.
  const indexStarted = coffer.index.stats();
  void coffer.index
    .ready()
    .then(() => {
      const now = coffer.index.stats();
      if (now.changes > indexStarted.changes) indexLogger.info({ listings: now.changes - indexStarted.changes }, 'search index caught up with the store');
      // Merges a previous run (or an import) left unfinished, in the background.
      return coffer.index.maintain();
    })
    .catch((err: unknown) => indexLogger.error({ err }, 'search index catch-up failed'));

  signals.reload = (): void => {
    void (async () => {
      let next: Config;
      try {
        next = load();
      } catch (err) {
        logger.error({ err }, 'configuration reload refused: the running configuration stays in force');
        return;
      }
      if (next.dataDir !== coffer.config.dataDir || JSON.stringify(next.encryption) !== JSON.stringify(coffer.config.encryption)) {
        logger.warn('dataDir and encryption changes take effect only after a restart');
      }
      try {
        await lifecycle.reload(next);
        coffer.reconfigure(next);
        logger.info({ archives: next.archives.length }, 'configuration reloaded');
      } catch (err) {
        logger.error({ err }, 'configuration reload failed: the running configuration stays in force');
      }
    })();
  };

  logger.info({ signal: await signals.stopped }, 'stopping');
  await lifecycle.stop();
  await coffer.close();
  logger.info('stopped');
  await flushLogger(logger);
  return 0;
}

/**
 * SIGHUP, SIGTERM and SIGINT from the moment the daemon starts. A SIGHUP before it has started has
 * nothing to reload yet. After the first SIGTERM/SIGINT Node's defaults apply again, so that a
 * second one ends a stop that hangs.
 */
class DaemonSignals {
  /** Set once the daemon runs. */
  reload: () => void = () => undefined;
  readonly stopped: Promise<NodeJS.Signals>;
  private readonly onHangUp = (): void => this.reload();
  private readonly onStop: (signal: NodeJS.Signals) => void;

  constructor() {
    let resolveStopped!: (signal: NodeJS.Signals) => void;
    this.stopped = new Promise((resolve) => (resolveStopped = resolve));
    this.onStop = (signal) => {
      this.dispose();
      resolveStopped(signal);
    };
    process.on('SIGHUP', this.onHangUp);
    process.on('SIGTERM', this.onStop);
    process.on('SIGINT', this.onStop);
  }

  dispose(): void {
    process.off('SIGHUP', this.onHangUp);
    process.off('SIGTERM', this.onStop);
    process.off('SIGINT', this.onStop);
  }
}
