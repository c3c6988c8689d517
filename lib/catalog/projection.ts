type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Copies the value at `path` of `source` into `target`, mapping over arrays on the way. */
function copyPath(target: JsonObject, source: JsonObject, path: string[]): void {
  const [head, ...rest] = path;
  if (!Object.hasOwn(source, head)) {
    return;
  }

  const value = source[head];
  if (rest.length === 0) {
    target[head] = value;
    return;
  }

  if (Array.isArray(value)) {
    const existing = Array.isArray(target[head]) ? (target[head] as unknown[]) : [];
    target[head] = value.map((item, index) => {
      if (!isObject(item)) {
        return item;
      }
      const copy = isObject(existing[index]) ? existing[index] : {};
      copyPath(copy, item, rest);
      return copy;
    });
  } else if (isObject(value)) {
    const copy = isObject(target[head]) ? target[head] : {};
    copyPath(copy, value, rest);
    target[head] = copy;
  }
}

/**
 * Returns the fields of `object` named in `fields` (ClearML's `only_fields`), and always
 * its id. A dotted name (`execution.queue`, `entries.task`) returns that nested field;
 * a name the object does not have is left out.
 */
export function projectFields<T extends { id: string }>(object: T, fields: string[] | undefined): Partial<T> & { id: string } {
  if (!fields || fields.length === 0) {
    return object;
  }

  const result: JsonObject = { id: object.id };
  for (const field of fields) {
    copyPath(result, object as unknown as JsonObject, field.split('.'));
  }

  return result as Partial<T> & { id: string };
}
