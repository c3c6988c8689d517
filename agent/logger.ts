import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Creates the JSON-lines logger of a command-line program (the daemon, the demo),
 * writing synchronously to stdout so that lines logged right before process.exit()
 * are not lost. Authorization headers are redacted in case a later caller logs request
 * options; nothing in this package logs them.
 */
export function createLogger(
  name: string,
  destination: DestinationStream = pino.destination({ dest: 1, sync: true }),
): Logger {
  return pino(
    {
      name,
      level: process.env.LOG_LEVEL ?? 'info',
      redact: ['headers.authorization', 'headers.Authorization', '*.headers.authorization', '*.headers.Authorization'],
    },
    destination,
  );
}
