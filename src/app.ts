// Composition root: builds Coffer's components from a validated config. The only module that
// knows them all; commands and the daemon get what they need from here.
import type { Config } from './config/index.js';
import { normalizeAddress } from './config/index.js';
import { ProfileRunner } from './connectors/profiles/runner.js';
import { createIngestPipeline, type IngestPipeline } from './ingest/pipeline.js';
import { createSilentLogger, type Logger } from './log/logger.js';
import type { AddressBook } from './ingest/route.js';
import { search, type SearchRequest, type SearchResponse } from './search/search.js';
import { SearchIndex } from './search/search-index.js';
import { readKeyFile } from './store/key-file.js';
import { openStore, type ArchiveStore } from './store/store.js';

export interface Coffer {
  /** The configuration in force (replaced on reload). */
  readonly config: Config;
  readonly store: ArchiveStore;
  readonly index: SearchIndex;
  /** Applies a reloaded configuration: archive addresses and folder names for routing. */
  reconfigure(config: Config): void;
  /** The write path; started on first use (it spawns worker threads). */
  ingest(): IngestPipeline;
  search(request: SearchRequest): Promise<SearchResponse>;
  /** Archiving profiles: runs (one per profile at a time) and their history. */
  profiles(): ProfileRunner;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Where failures of background index work are reported (the daemon's log). */
  onIndexError?: (err: unknown) => void;
  /** Where profile runs log (the daemon's log); silent otherwise, the CLI prints their summary. */
  logger?: Logger;
  /** Environment profile passwords given as { env: NAME } are read from. */
  env?: NodeJS.ProcessEnv;
}

export async function openCoffer(config: Config, options: OpenOptions = {}): Promise<Coffer> {
  const encryptionKey = config.encryption ? readKeyFile(config.encryption.keyFile) : null;
  const store = await openStore({ dataDir: config.dataDir, encryptionKey });
  let pipeline: IngestPipeline | undefined;
  let runner: ProfileRunner | undefined;
  let current = config;
  const ingest = (): IngestPipeline => {
    pipeline ??= createIngestPipeline({ store, addressBook: addressBookOf(current), folders: current.folders, encryptionKey });
    return pipeline;
  };
  const indexOptions = options.onIndexError ? { onError: options.onIndexError } : {};
  const index = await SearchIndex.open(store, (raw, envelopeRecipients) => ingest().prepareForIndex(raw, envelopeRecipients), indexOptions);
  // Following from the start: every commit reaches the index with the terms its worker prepared.
  index.follow(store.getWriter());
  return {
    get config() {
      return current;
    },
    store,
    index,
    reconfigure(next) {
      current = next;
      pipeline?.updateRouting(addressBookOf(next), next.folders);
    },
    ingest,
    search(request) {
      return search(store, index, current, request);
    },
    profiles() {
      runner ??= new ProfileRunner({
        config: () => current,
        ingest,
        store,
        env: options.env ?? process.env,
        logger: (options.logger ?? createSilentLogger()).child({ component: 'profiles' }),
      });
      return runner;
    },
    async close() {
      await runner?.stop();
      await store.getWriter().drain();
      await index.close();
      await pipeline?.close();
      await store.close();
    },
  };
}

export function addressBookOf(config: Config): AddressBook {
  return new Map(
    config.archives.map((archive) => [
      archive.name,
      new Set([...(archive.address ? [archive.address] : []), ...archive.aliases].map(normalizeAddress)),
    ]),
  );
}
