import type { z } from 'zod';

import { apiErrors } from './errors';

/** Maximum request body size in bytes; larger bodies get 413 with the envelope. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a request body, raising 413 as soon as it passes `limit` bytes. */
export async function readBody(
  body: ReadableStream<Uint8Array> | null,
  limit = MAX_BODY_BYTES,
): Promise<string> {
  if (!body) {
    return '';
  }

  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw apiErrors.bodyTooLarge(limit);
    }
    chunks.push(value);
  }

  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON body into an object; an empty or blank body means `{}`. */
export function parseBody(text: string): Record<string, unknown> {
  // A UTF-8 byte order mark is allowed before the JSON, as Python's json.loads allows it.
  const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (json.trim() === '') {
    return {};
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw apiErrors.invalidBody(`is not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw apiErrors.invalidBody('must be a JSON object');
  }

  return parsed as Record<string, unknown>;
}

type FieldKind = 'string' | 'number' | 'boolean' | 'json' | 'unknown';

interface FieldType {
  kind: FieldKind;
  array: boolean;
}

type AnySchema = z.core.$ZodType;

/** Strips optional, nullable, default and pipe wrappers from a zod schema. */
function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema };
    if (def.innerType && ['optional', 'nullable', 'default', 'prefault'].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return current;
    }
  }
}

function scalarKind(schema: AnySchema): FieldKind {
  const type = unwrap(schema)._zod.def.type;
  if (type === 'string' || type === 'enum') {
    return 'string';
  }
  if (type === 'number' || type === 'int') {
    return 'number';
  }
  if (type === 'boolean') {
    return 'boolean';
  }
  if (type === 'object') {
    return 'json';
  }

  return 'unknown';
}

function fieldType(schema: AnySchema): FieldType {
  const inner = unwrap(schema);
  const def = inner._zod.def as { type: string; element?: AnySchema };
  if (def.type === 'array' && def.element) {
    return { kind: scalarKind(def.element), array: true };
  }

  return { kind: scalarKind(inner), array: false };
}

/**
 * Converts one query-string value to the field's type. A value that does not convert
 * is kept as the string, so that validation rejects it and names it.
 */
function convertQueryValue(value: string, kind: FieldKind): unknown {
  if (kind === 'string' || kind === 'unknown') {
    return value;
  }
  if (value === 'null' || value === 'none') {
    return null;
  }
  if (kind === 'number') {
    const number = Number(value);
    return value.trim() !== '' && Number.isFinite(number) ? number : value;
  }
  if (kind === 'boolean') {
    if (value === 'true' || value === '1') {
      return true;
    }
    if (value === 'false' || value === '0') {
      return false;
    }
    return value;
  }

  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * Merges query-string parameters into the body: repeated parameters make an array, and
 * values are converted to the field's type (a JSON text for object fields). Query values
 * replace body values of the same name. Unknown parameters are kept as strings and later
 * stripped by validation like any unknown field.
 */
export function mergeQuery(
  body: Record<string, unknown>,
  params: URLSearchParams,
  schema: z.ZodObject,
): Record<string, unknown> {
  const merged = { ...body };
  const shape = schema.shape as Record<string, AnySchema>;

  for (const name of new Set(params.keys())) {
    const values = params.getAll(name);
    if (!Object.hasOwn(shape, name)) {
      // Unknown parameters are ignored like unknown fields.
      continue;
    }
    const field = shape[name];

    const type = fieldType(field);
    if (type.array) {
      // One JSON array value (`items=[...]`) or repeated parameters (`tags=a&tags=b`).
      const single = values.length === 1 ? convertQueryValue(values[0], 'json') : undefined;
      merged[name] = Array.isArray(single)
        ? single
        : values.map((value) => convertQueryValue(value, type.kind));
    } else {
      merged[name] = convertQueryValue(values[values.length - 1], type.kind);
    }
  }

  return merged;
}

/**
 * Removes the fields whose value is null, because null means the same as an absent
 * field. A top-level field whose schema accepts null keeps it, for the few fields where
 * null has a meaning of its own (get_all's `last_seen: null` disables the filter).
 */
export function removeNullFields(body: Record<string, unknown>, schema: z.ZodObject): Record<string, unknown> {
  const shape = schema.shape as Record<string, z.ZodType>;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    // Unknown fields are ignored, so they are not walked at all (they may nest deeply).
    // `__proto__` is never a field: assigning it would replace the prototype.
    if (!Object.hasOwn(shape, key)) {
      continue;
    }
    if (value === null && shape[key].safeParse(null).success) {
      result[key] = null;
    } else if (value !== null) {
      result[key] = stripNulls(value, key, 0);
    }
  }

  return result;
}

/**
 * Deepest nesting walked inside a known field. No field of the API nests this deep, so
 * a deeper value is left as it is and validation rejects it.
 */
const MAX_WALKED_DEPTH = 16;

/**
 * Removes object keys whose value is null, at every depth, and rejects strings that
 * PostgreSQL text cannot store: U+0000 and lone UTF-16 surrogates, which JSON escapes
 * can carry but UTF-8 cannot encode.
 */
function stripNulls(value: unknown, path: string, depth: number): unknown {
  if (typeof value === 'string') {
    if (value.includes('\u0000') || !value.isWellFormed()) {
      throw apiErrors.validation(path, value, 'must not contain U+0000 or unpaired surrogate characters');
    }
    return value;
  }
  if (depth >= MAX_WALKED_DEPTH || value === null || typeof value !== 'object') {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => stripNulls(item, `${path}.${index}`, depth + 1));
  }

  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null && key !== '__proto__') {
      result[key] = stripNulls(item, `${path}.${key}`, depth + 1);
    }
  }

  return result;
}

function formatPath(path: PropertyKey[]): string {
  return path.map(String).join('.');
}

/**
 * Validates a request against its schema. Absent required fields raise 400/11 listing
 * them all; any other problem raises 400/12 naming the first offending field and value.
 */
export function validateRequest<Schema extends z.ZodObject>(
  schema: Schema,
  data: Record<string, unknown>,
): z.infer<Schema> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) {
    return result.data;
  }

  const issues = result.error.issues;
  const missing = issues
    // An absent enum field is an invalid_value issue in zod 4, an absent other field invalid_type.
    .filter((issue) => (issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined)
    .map((issue) => formatPath(issue.path));
  if (missing.length > 0) {
    throw apiErrors.missingFields(missing);
  }

  const first = innermostIssue(issues[0]);
  const field = formatPath(first.path);

  throw apiErrors.validation(field || 'body', first.input, first.message);
}

type Issue = Pick<z.core.$ZodIssue, 'path' | 'input' | 'message'>;

/**
 * Returns the issue that describes the error. A union reports only "invalid input", so
 * when exactly one of its branches has the value's type (the array branch of a metric
 * sent as a list), that branch's issue is reported instead, with the full path.
 */
function innermostIssue(issue: z.core.$ZodIssue): Issue {
  if (issue.code !== 'invalid_union') {
    return issue;
  }

  const typeMatches = issue.errors.filter(
    (branch) => branch.length > 0 && !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
  );
  if (typeMatches.length !== 1) {
    return issue;
  }

  const inner = innermostIssue(typeMatches[0][0]);

  return { path: [...issue.path, ...inner.path], input: inner.input, message: inner.message };
}
