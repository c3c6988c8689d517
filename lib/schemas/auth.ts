import { z } from 'zod';

import { MAX_TOKEN_SECONDS } from '@/lib/auth/tokens';

/** auth.login: a GET with no body, as daemons send it; `expiration_sec` is the token lifetime in seconds. */
export const loginRequestSchema = z.object({
  expiration_sec: z
    .int()
    .min(1, 'must be a positive number of seconds')
    .max(MAX_TOKEN_SECONDS, `must be at most ${MAX_TOKEN_SECONDS} seconds (one year)`)
    .optional(),
});
export type LoginRequest = z.infer<typeof loginRequestSchema>;

export const loginResponseSchema = z.object({ token: z.string() });
export type LoginResponse = z.infer<typeof loginResponseSchema>;
