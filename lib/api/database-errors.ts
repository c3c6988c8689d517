// Error codes meaning the database cannot be reached right now: Node socket errors,
// the postgres driver's connection errors, and SQLSTATE class 08 (connection
// exception) and 57P01-57P03 (the server is shutting down or starting).
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
]);

/** Tells whether an error, or one of its causes, means the database is unreachable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08'))) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }

  return false;
}
