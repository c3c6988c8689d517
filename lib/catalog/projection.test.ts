import { describe, expect, it } from 'vitest';

import { projectFields } from './projection';

const queue = {
  id: 'q1',
  name: 'gpu',
  tags: ['a'],
  entries: [
    { task: 't1', added: '2026-01-01T00:00:00.000Z' },
    { task: 't2', added: '2026-01-01T00:00:01.000Z' },
  ],
  execution: { queue: 'q1', parameters: { lr: '0.1' } },
};

describe('projectFields', () => {
  it.each([
    [undefined, queue],
    [[], queue],
    [['name'], { id: 'q1', name: 'gpu' }],
    [['id', 'tags'], { id: 'q1', tags: ['a'] }],
    [['entries.task'], { id: 'q1', entries: [{ task: 't1' }, { task: 't2' }] }],
    [['entries.task', 'entries.added'], { id: 'q1', entries: queue.entries }],
    [['execution.parameters.lr'], { id: 'q1', execution: { parameters: { lr: '0.1' } } }],
    [['execution.queue', 'execution'], { id: 'q1', execution: queue.execution }],
    [['missing', 'name.length', 'tags.x'], { id: 'q1', tags: ['a'] }],
  ])('projects %j', (fields, expected) => {
    expect(projectFields(queue, fields as string[] | undefined)).toEqual(expected);
  });
});
