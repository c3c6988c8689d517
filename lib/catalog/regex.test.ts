import { describe, expect, it } from 'vitest';

import { pythonRegexToPostgres } from './regex';

describe('pythonRegexToPostgres', () => {
  it.each([
    ['gpu\\-queue', 'gpu\\-queue'],
    ['my\\ queue', 'my\\ queue'],
    ['^a\\.b$', '^a\\.b$'],
    ['\\bcpu\\b', '\\ycpu\\y'],
    ['\\Bx', '\\Yx'],
    ['[\\b]', '[\\b]'],
    ['[]b]\\b', '[]b]\\y'],
    ['[^]b]\\b', '[^]b]\\y'],
    ['[\\]]\\b', '[\\]]\\y'],
    ['(?P<kind>gpu|cpu)-\\d+', '(gpu|cpu)-\\d+'],
    ['[(?P<x>)]', '[(?P<x>)]'],
    ['(?P=kind)', '(?P=kind)'],
    ['trailing\\', 'trailing\\'],
    ['', ''],
  ])('translates %j to %j', (python, postgres) => {
    expect(pythonRegexToPostgres(python)).toBe(postgres);
  });
});
