// Composition root: builds Coffer's components from a validated config. The only module that
// knows them all; commands and (later) the daemon get what they need from here.
import type { Config } from './config/index.js';
import { normalizeAddress } from './config/index.js';
import { createIngestPipeline, type IngestPipeline } from './ingest/pipeline.js';
import type { AddressBook } from './ingest/route.js';
import { readKeyFile } from './store/key-file.js';
import { openStore, type ArchiveStore } from './store/store.js';

export interface Coffer {
  /** The configuration in force (replaced on reload). */
  readonly config: Config;
  readonly store: ArchiveStore;
  /** Applies a reloaded configuration: archive addresses and folder names for routing. */
  reconfigure(config: Config): void;
  /** The write path; started on first use (it spawns worker threads). */
  ingest(): IngestPipeline;
  close(): Promise<void>;
}

export async function openCoffer(config: Config): Promise<Coffer> {
  const encryptionKey = config.encryption ? readKeyFile(config.encryption.keyFile) : null;
  const store = await openStore({ dataDir: config.dataDir, encryptionKey });
  let pipeline: IngestPipeline | undefined;
  let current = config;
  return {
    get config() {
      return current;
    },
    store,
    reconfigure(next) {
      current = next;
      pipeline?.updateRouting(addressBookOf(next), next.folders);
    },
    ingest() {
      pipeline ??= createIngestPipeline({ store, addressBook: addressBookOf(current), folders: current.folders, encryptionKey });
      return pipeline;
    },
    async close() {
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
