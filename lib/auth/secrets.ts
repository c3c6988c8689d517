import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * scrypt cost of new hashes: N = 2^15, r = 8, p = 1, which takes 32 MiB and about 0.15 s
 * per hash on a busy two-core machine. Generated secrets carry 256 random bits, so the
 * cost protects the secrets an operator chooses (WORKERS_SECRET_KEY). Each stored hash
 * names its own parameters, so raising them later keeps old hashes valid.
 */
const SCRYPT_COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Maximum memory (128 * N * r bytes) a stored hash may ask for: 256 MiB, so that a crafted row cannot exhaust memory. */
const MAX_SCRYPT_MEMORY_BYTES = 256 * 2 ** 20;

// Access keys use an alphabet without `:`, which separates the pair in HTTP Basic.
const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ACCESS_KEY_LENGTH = 24;

/** Returns a new access key: 24 characters of A-Z and 2-7 (120 random bits). */
export function generateAccessKey(): string {
  const bytes = randomBytes(ACCESS_KEY_LENGTH);

  // 256 is a multiple of 32, so taking each byte modulo 32 keeps the characters uniform.
  return Array.from(bytes, (byte) => ACCESS_KEY_ALPHABET[byte % ACCESS_KEY_ALPHABET.length]).join('');
}

/** Returns a new secret key: 32 random bytes in base64url (43 characters). */
export function generateSecretKey(): string {
  return randomBytes(32).toString('base64url');
}

function deriveKey(secret: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  // maxmem must exceed 128 * N * r bytes, the memory scrypt needs.
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r };

  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * Hashes a secret key with scrypt and a random salt. The result reads
 * `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`.
 */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await deriveKey(secret, salt, SCRYPT_COST);

  return ['scrypt', SCRYPT_COST.N, SCRYPT_COST.r, SCRYPT_COST.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/**
 * Returns whether `secret` matches a hash made by hashSecret, comparing in constant time.
 * A hash that is malformed, or names a cost above the allowed maximum, matches nothing.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    return false;
  }

  const [N, r, p] = parts.slice(1, 4).map(Number);
  const valid = [N, r, p].every((value) => Number.isInteger(value) && value > 0);
  if (!valid || 128 * N * r > MAX_SCRYPT_MEMORY_BYTES || p > 16) {
    return false;
  }

  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  if (expected.length !== KEY_LENGTH) {
    return false;
  }
  const actual = await deriveKey(secret, salt, { N, r, p });

  return timingSafeEqual(actual, expected);
}
