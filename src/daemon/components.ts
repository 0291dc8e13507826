// The daemon's components beyond the control socket, in start order. Each factory receives the
// config, the open Coffer (store + the one ingest pipeline) and the root logger.
import { createProfileScheduler } from '../connectors/profiles/scheduler.js';
import { createImapComponent } from '../imap/server.js';
import { createSmtpComponent } from '../smtp/endpoint.js';
import { loadOrCreateCertificate } from '../tls/certificate.js';
import type { ComponentFactory } from './serve.js';

const smtp: ComponentFactory = async ({ config, coffer, logger }) => {
  const certificate = await loadOrCreateCertificate({ tls: config.tls, dataDir: config.dataDir, logger });
  return createSmtpComponent({ config, ingest: coffer.ingest(), logger, certificate });
};

const imap: ComponentFactory = async ({ config, coffer, logger }) => {
  const certificate = await loadOrCreateCertificate({ tls: config.tls, dataDir: config.dataDir, logger });
  return createImapComponent({ config, store: coffer.store, index: coffer.index, logger, certificate });
};

const profiles: ComponentFactory = async ({ config, coffer, logger }) =>
  createProfileScheduler({ config, runner: coffer.profiles(), logger: logger.child({ component: 'profiles' }) });

export const serveComponents: readonly ComponentFactory[] = [smtp, imap, profiles];
