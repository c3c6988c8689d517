/**
 * Translates a worker_pattern glob into a LIKE pattern with `\` as the escape
 * character: `*` matches any run of characters and `?` exactly one, and every other
 * character, `%`, `_`, `.`, `[` and `\` included, matches only itself. The result is
 * bound as a query parameter, never spliced into SQL.
 */
export function globToLike(glob: string): string {
  let pattern = '';
  for (const character of glob) {
    if (character === '*') {
      pattern += '%';
    } else if (character === '?') {
      pattern += '_';
    } else if (character === '%' || character === '_' || character === '\\') {
      pattern += `\\${character}`;
    } else {
      pattern += character;
    }
  }

  return pattern;
}
