import { describe, expect, it } from 'vitest';

import type { WorkerEntry } from '@/lib/schemas/workers';

import { buildQueueRows, nextTaskIds } from './queue-rows';

function worker(id: string, queueIds: string[]): WorkerEntry {
  return {
    id,
    key: `worker_c_u_${id}`,
    user: { id: 'u' },
    company: { id: 'c' },
    register_time: '2026-01-01T00:00:00.000Z',
    last_activity_time: '2026-01-01T00:00:00.000Z',
    queues: queueIds.map((queueId) => ({ id: queueId })),
    tags: [],
    system_tags: [],
  };
}

const queues = {
  queues: [
    { id: 'q2', name: 'gpu', entries: [{ task: 't1', added: 'x' }, { task: 't2', added: 'y' }] },
    { id: 'q1', name: 'cpu', display_name: 'CPU pool', entries: [] },
    { id: 'q3', name: 'gpu', entries: [{ task: 't9', added: 'z' }] },
  ],
};

describe('buildQueueRows', () => {
  it('joins next task names and listening workers', () => {
    const rows = buildQueueRows(queues, { tasks: [{ id: 't1', name: 'train' }] }, {
      workers: [worker('b', ['q2', 'q1']), worker('a', ['q2']), worker('c', ['q9'])],
    });

    expect(rows).toEqual([
      { id: 'q1', name: 'cpu', displayName: 'CPU pool', length: 0, workers: [{ id: 'b', key: 'worker_c_u_b' }] },
      {
        id: 'q2',
        name: 'gpu',
        length: 2,
        nextTask: { id: 't1', name: 'train' },
        workers: [
          { id: 'a', key: 'worker_c_u_a' },
          { id: 'b', key: 'worker_c_u_b' },
        ],
      },
      { id: 'q3', name: 'gpu', length: 1, nextTask: { id: 't9', name: undefined }, workers: [] },
    ]);
  });
});

describe('nextTaskIds', () => {
  it('lists the first entry of each queue once', () => {
    expect(nextTaskIds({ queues: [...queues.queues, { id: 'q4', entries: [{ task: 't1', added: 'x' }] }] })).toEqual(['t1', 't9']);
  });
});
