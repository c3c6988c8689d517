import type { CallContext } from '@/lib/api/endpoint';
import type { LoginRequest, LoginResponse } from '@/lib/schemas/auth';

import { DEFAULT_TOKEN_SECONDS } from './tokens';

/** auth.login: returns a token for the caller, valid for `expiration_sec` seconds (default 30 days). */
export async function login(context: CallContext, request: LoginRequest): Promise<LoginResponse> {
  if (!context.auth) {
    throw new Error('auth.login needs the authenticated caller, which only the dispatcher sets');
  }

  const lifetimeSeconds = request.expiration_sec ?? DEFAULT_TOKEN_SECONDS;
  const token = await context.auth.issueToken(lifetimeSeconds);
  context.log.info({ access_key: context.auth.caller.accessKey, lifetime_seconds: lifetimeSeconds }, 'token issued');

  return { token };
}
