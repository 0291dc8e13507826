// The daemon's components beyond the control socket, in start order. Each factory receives the
// config, the open Coffer (store + the one ingest pipeline) and the root logger.
import type { ComponentFactory } from './serve.js';

export const serveComponents: readonly ComponentFactory[] = [];
