import type { z } from 'zod';

import type { Database } from '@/db/client';
import type { Caller } from '@/lib/auth/tokens';
import type { Logger } from '@/lib/log';

/** Context of one call, passed to its handler beside the validated request. */
export interface CallContext {
  db: Database;
  /** The caller's company, from its credential: every query is scoped to it. */
  companyId: string;
  /** The caller's user, from its credential. */
  userId: string;
  /**
   * The authenticated caller and a way to issue it a token (auth.login). The dispatcher
   * sets both; code that calls a workers handler directly (the seed tool) has neither.
   */
  auth?: { caller: Caller; issueToken(lifetimeSeconds: number): Promise<string> };
  /** One clock reading per call, so that every timestamp a call writes is the same. */
  now: Date;
  /** The caller's address, as the register and status_report entries store it. */
  clientIp: string;
  requestId: string;
  log: Logger;
}

/**
 * One `<service>.<action>` endpoint: its schema versions (ascending) and one request
 * schema holding every field of every version, as the original server accepts them all.
 */
export interface Endpoint<Request extends z.ZodObject = z.ZodObject, Response = unknown> {
  name: string;
  versions: readonly string[];
  request: Request;
  handle(context: CallContext, request: z.infer<Request>): Promise<Response>;
}

export function defineEndpoint<Request extends z.ZodObject, Response>(
  endpoint: Endpoint<Request, Response>,
): Endpoint<Request, Response> {
  return endpoint;
}
