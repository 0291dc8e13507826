// Components of the daemon and their lifecycle: started in order, stopped in reverse, each told
// about a reloaded configuration. A component that fails to start stops those already started.
import type { Config } from './config/index.js';
import type { Logger } from './log/logger.js';

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /** Stop accepting work, finish what is in flight, release resources. */
  stop(): Promise<void>;
  /** Apply a new, already validated configuration (SIGHUP). Throws to refuse it. */
  reload?(config: Config): Promise<void>;
}

export class Lifecycle {
  private readonly started: Component[] = [];

  constructor(private readonly logger: Logger) {}

  async start(components: readonly Component[]): Promise<void> {
    for (const component of components) {
      try {
        await component.start();
      } catch (err) {
        this.logger.error({ component: component.name, err }, 'component failed to start');
        await this.stop();
        throw err;
      }
      this.started.push(component);
      this.logger.info({ component: component.name }, 'component started');
    }
  }

  async reload(config: Config): Promise<void> {
    for (const component of this.started) await component.reload?.(config);
  }

  async stop(): Promise<void> {
    while (this.started.length) {
      const component = this.started.pop()!;
      try {
        await component.stop();
        this.logger.info({ component: component.name }, 'component stopped');
      } catch (err) {
        this.logger.error({ component: component.name, err }, 'component failed to stop cleanly');
      }
    }
  }
}
