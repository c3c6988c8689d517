import pino from 'pino';

/**
 * The process-wide structured logger: one JSON line per event. Request lines carry the
 * request id. Bodies, headers and credentials are never logged.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: { service: 'fleet-workers' },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export type Logger = pino.Logger;
