import { arrayOverlaps, not, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';

/**
 * Conditions of a ClearML tag filter on a text[] column: the object must have one of
 * the plain tags and none of the `-` prefixed ones. No tags: no condition.
 */
export function tagConditions(column: AnyPgColumn, tags: string[] | undefined): SQL[] {
  if (!tags || tags.length === 0) {
    return [];
  }

  const included = tags.filter((tag) => !tag.startsWith('-'));
  const excluded = tags.filter((tag) => tag.startsWith('-')).map((tag) => tag.slice(1));
  const conditions: SQL[] = [];
  if (included.length > 0) {
    conditions.push(arrayOverlaps(column, included));
  }
  if (excluded.length > 0) {
    conditions.push(not(arrayOverlaps(column, excluded)));
  }

  return conditions;
}

/**
 * Condition that `column` matches a PostgreSQL regular expression case-insensitively,
 * with the pattern bound as a parameter. An invalid pattern fails the query with
 * SQLSTATE 2201B (see isInvalidRegularExpression).
 */
export function matchesPattern(column: AnyPgColumn, pattern: string): SQL {
  return sql`${column} ~* ${pattern}`;
}

/** Tells whether an error, or one of its causes, is PostgreSQL's invalid_regular_expression. */
export function isInvalidRegularExpression(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if ((current as { code?: unknown }).code === '2201B') {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }

  return false;
}

/** The PostgreSQL message of an error or of its first cause that has one. */
export function databaseMessage(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if ((current as { code?: unknown }).code !== undefined && current instanceof Error) {
      return current.message;
    }
    current = (current as { cause?: unknown }).cause;
  }

  return error instanceof Error ? error.message : String(error);
}

/** ISO 8601 UTC text with milliseconds of a timestamptz, as Date.toISOString writes it. */
export function isoText(value: SQL | AnyPgColumn): SQL<string> {
  return sql<string>`to_char(${value} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
