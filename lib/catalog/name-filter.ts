import { databaseMessage, isInvalidRegularExpression } from '@/db/filters';
import { apiErrors } from '@/lib/api/errors';

import { pythonRegexToPostgres } from './regex';

/**
 * Runs a listing whose `name` filter is a Python regular expression: translates it for
 * PostgreSQL and turns a pattern PostgreSQL rejects into 400/12 naming the field and the
 * value, instead of a server error. The pattern is always bound as a parameter.
 */
export async function withNameFilter<T>(name: string | undefined, list: (pattern: string | undefined) => Promise<T>): Promise<T> {
  // An empty pattern matches every name, as in ClearML.
  const pattern = name ? pythonRegexToPostgres(name) : undefined;
  try {
    return await list(pattern);
  } catch (error) {
    if (name !== undefined && isInvalidRegularExpression(error)) {
      throw apiErrors.validation('name', name, `invalid regular expression (${databaseMessage(error)})`);
    }
    throw error;
  }
}
