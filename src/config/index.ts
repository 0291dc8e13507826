// Public surface of the configuration module: load a config file into a frozen, typed object.
// Other modules import from here, never from schema.ts or load.ts directly, so the split between
// validation and loading can change without touching them.

export { ConfigError, formatKeyPath, loadConfig, parseConfigText } from './load.js';
export type { LoadConfigOptions } from './load.js';
export { ARCHIVE_PERMISSIONS, createConfigSchema, LOG_LEVELS, PASSWORD_HASH_PREFIX, USER_ROLES } from './schema.js';
export { checkCidr, checkHostPort, normalizeAddress, parseAge, parseSize, type Age } from './primitives.js';
export { folderRegex } from './profile-schema.js';
export type {
  ArchiveConfig,
  ArchivePermission,
  Config,
  ConfigSchema,
  ConfigSchemaOptions,
  EndpointConfig,
  ImapConfig,
  ProfileConfig,
  LogLevel,
  UserConfig,
  UserRole,
} from './schema.js';
