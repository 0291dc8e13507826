// Public surface of the configuration module: load a config file into a frozen, typed object.
// Other modules import from here, never from schema.ts or load.ts directly, so the split between
// validation and loading can change without touching them.

export { ConfigError, formatKeyPath, loadConfig, parseConfigText } from './load.js';
export type { LoadConfigOptions } from './load.js';
export {
  ARCHIVE_PERMISSIONS,
  checkCidr,
  checkHostPort,
  createConfigSchema,
  LOG_LEVELS,
  normalizeAddress,
  parseSize,
  PASSWORD_HASH_PREFIX,
  USER_ROLES,
} from './schema.js';
export type {
  ArchiveConfig,
  ArchivePermission,
  Config,
  ConfigSchema,
  ConfigSchemaOptions,
  EndpointConfig,
  ImapConfig,
  LogLevel,
  UserConfig,
  UserRole,
} from './schema.js';
