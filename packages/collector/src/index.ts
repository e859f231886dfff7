/** @clockwatch/collector: the app factory, the stores and the parts the CLI and tests use. */
export { buildApp, loggerOptions, type AppOptions } from './app.js';
export { COLLECTOR_VERSION } from './version.js';
export * from './errors.js';
export * from './auth.js';
export { Compliance } from './compliance.js';
export { contentHash, reportJson, sha256Hex } from './canonical.js';
export { CommitterClosedError, GroupCommitter, type FlushInfo } from './group-commit.js';
export { CachedHostClock, staticHostClock, synchronizedOf, type HostClock, type HostClockState } from './host-clock.js';
export { Ingestor, staticPartsOf, type IngestAnswer, type IngestRejection } from './ingest.js';
export { CollectorMetrics } from './metrics.js';
export { RateLimiter } from './rate-limit.js';
export { RetentionScheduler, pruneOnce, pruneCutoffs, DAY_MS } from './retention.js';
export { AnchoredWallClock, fixedClock, type WallClock } from './wall-clock.js';
export * from './store/types.js';
export { SqliteStore, openSqliteStore, type SqliteStoreOptions, type Durability } from './store/sqlite.js';
export { parseServeConfig, type ServeConfig } from './config.js';
