/**
 * PostgreSQL advisory lock keys of the service, one per kind of work that two instances
 * on one database must not run at the same time.
 */
export const LOCK_KEYS = {
  migrations: 7_261_000,
  partitions: 7_261_001,
  /** The rollup refresh and the chunk compaction, which both write the rollups' derived state. */
  rollups: 7_261_002,
  retention: 7_261_003,
  bootstrap: 7_261_004,
} as const;
