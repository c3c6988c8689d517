/**
 * Translates a Python regular expression (the syntax of ClearML's `name` filters) into
 * a PostgreSQL advanced regular expression with the same meaning where the two differ:
 *
 * - `\b` and `\B` (word boundary and its negation) become `\y` and `\Y`; inside a
 *   bracket expression `\b` is a backspace in both and stays.
 * - A named group `(?P<name>...)` becomes a plain group.
 *
 * Escaped punctuation, as Python's re.escape writes it (`gpu\-queue`, `my\ queue`),
 * means the character itself in both. Other constructs pass through unchanged. Those
 * PostgreSQL does not know (`(?P=name)`, atomic groups) make the query fail with
 * invalid_regular_expression, and the caller reports that as a validation error.
 */
export function pythonRegexToPostgres(pattern: string): string {
  let result = '';
  let inBracket = false;
  // Length of `result` just after the `[` or `[^` that opened the current bracket.
  let bracketBody = 0;
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index];

    if (character === '\\' && index + 1 < pattern.length) {
      const next = pattern[index + 1];
      index++;
      if (!inBracket && next === 'b') {
        result += '\\y';
      } else if (!inBracket && next === 'B') {
        result += '\\Y';
      } else {
        result += `\\${next}`;
      }
      continue;
    }

    if (inBracket) {
      // A `]` right after `[` or `[^` is a literal member, not the end of the bracket.
      if (character === '^' && result.length === bracketBody && pattern[index - 1] === '[') {
        bracketBody += 1;
      } else if (character === ']' && result.length > bracketBody) {
        inBracket = false;
      }
      result += character;
      continue;
    }

    if (character === '[') {
      inBracket = true;
      result += character;
      bracketBody = result.length;
      continue;
    }

    const namedGroup = /^\(\?P<[A-Za-z_][A-Za-z0-9_]*>/.exec(pattern.slice(index));
    if (namedGroup) {
      result += '(';
      index += namedGroup[0].length - 1;
      continue;
    }

    result += character;
  }

  return result;
}
