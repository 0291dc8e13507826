// Composition root: builds Coffer's components from a validated config. The only module that
// knows them all; commands and (later) the daemon get what they need from here.
import type { Config } from './config/index.js';
import { normalizeAddress } from './config/index.js';
import { createIngestPipeline, type IngestPipeline } from './ingest/pipeline.js';
import type { AddressBook } from './ingest/route.js';
import { readKeyFile } from './store/key-file.js';
import { openStore, type ArchiveStore } from './store/store.js';

export interface Coffer {
  readonly config: Config;
  readonly store: ArchiveStore;
  /** The write path; started on first use (it spawns worker threads). */
  ingest(): IngestPipeline;
  close(): Promise<void>;
}

export async function openCoffer(config: Config): Promise<Coffer> {
  const encryptionKey = config.encryption ? readKeyFile(config.encryption.keyFile) : null;
  const store = await openStore({ dataDir: config.dataDir, encryptionKey });
  let pipeline: IngestPipeline | undefined;
  return {
    config,
    store,
    ingest() {
      pipeline ??= createIngestPipeline({ store, addressBook: addressBookOf(config), encryptionKey });
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
