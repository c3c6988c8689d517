import { describe, expect, test } from 'vitest';

import { TEST_TARGETS } from '../helpers/database';

import { countedWorkers, listedIds, registerWorker, reportStatus, useApiServer } from './fixtures';

describe.each(TEST_TARGETS)('worker listing on %s', (target) => {
  const api = useApiServer(target);

  describe('last_seen', () => {
    test('get_all keeps workers active within 3600 s by default', async () => {
      await registerWorker(api, 'w');

      api.clock.advance(3600);
      expect(await listedIds(api)).toEqual(['w']);

      api.clock.advance(1);
      expect(await listedIds(api)).toEqual([]);
    });

    test('get_count applies no last_seen by default', async () => {
      await registerWorker(api, 'w');
      api.clock.advance(100_000);

      expect(await countedWorkers(api)).toBe(1);
    });

    test.each([
      ['get_all', { last_seen: 60 }, ['recent']],
      ['get_all', { last_seen: 3659 }, ['recent']],
      ['get_all', { last_seen: 3660 }, ['old', 'recent']],
      ['get_all', { last_seen: 0 }, ['old', 'recent']],
      ['get_all', { last_seen: null }, ['old', 'recent']],
      ['get_count', { last_seen: 60 }, ['recent']],
      ['get_count', { last_seen: 3659 }, ['recent']],
      ['get_count', { last_seen: 3660 }, ['old', 'recent']],
      ['get_count', { last_seen: 0 }, ['old', 'recent']],
      ['get_count', { last_seen: null }, ['old', 'recent']],
    ])('%s with %j', async (endpoint, body, expected) => {
      await registerWorker(api, 'old');
      api.clock.advance(3600);
      await registerWorker(api, 'recent');
      api.clock.advance(60);

      if (endpoint === 'get_all') {
        expect(await listedIds(api, body)).toEqual(expected);
      } else {
        expect(await countedWorkers(api, body)).toBe(expected.length);
      }
    });

    test('status_report renews last_seen', async () => {
      await registerWorker(api, 'w');
      api.clock.advance(3000);
      await reportStatus(api, 'w');

      api.clock.advance(3600);
      expect(await listedIds(api)).toEqual(['w']);
      expect(await countedWorkers(api, { last_seen: 3600 })).toBe(1);

      api.clock.advance(1);
      expect(await listedIds(api)).toEqual([]);
      expect(await countedWorkers(api, { last_seen: 3600 })).toBe(0);
    });

    // A last_seen longer than the time since the epoch keeps every live worker.
    test.each([10_000_000_000_000, Number.MAX_SAFE_INTEGER])('last_seen %d keeps every worker', async (lastSeen) => {
      await registerWorker(api, 'w');
      api.clock.advance(7200);

      expect(await listedIds(api, { last_seen: lastSeen })).toEqual(['w']);
      expect(await countedWorkers(api, { last_seen: lastSeen })).toBe(1);
    });
  });

  describe('tags and system_tags', () => {
    const fleet = [
      { worker: 'a', tags: ['gpu', 'linux'], system_tags: ['prod'] },
      { worker: 'b', tags: ['cpu', 'linux'], system_tags: ['dev'] },
      { worker: 'c', tags: ['gpu'], system_tags: [] },
      { worker: 'd', tags: [], system_tags: ['prod', 'dev'] },
    ];

    test.each([
      [{ tags: ['gpu'] }, ['a', 'c']],
      [{ tags: ['gpu', 'cpu'] }, ['a', 'b', 'c']],
      [{ tags: ['-gpu'] }, ['b', 'd']],
      [{ tags: ['linux', '-cpu'] }, ['a']],
      [{ tags: ['-gpu', '-cpu'] }, ['d']],
      [{ tags: ['none-has-it'] }, []],
      [{ tags: [] }, ['a', 'b', 'c', 'd']],
      [{ system_tags: ['prod'] }, ['a', 'd']],
      [{ system_tags: ['-prod'] }, ['b', 'c']],
      [{ system_tags: ['dev', '-prod'] }, ['b']],
      [{ tags: ['gpu'], system_tags: ['prod'] }, ['a']],
      [{ tags: ['gpu'], system_tags: ['-prod'] }, ['c']],
      [{ tags: ['-gpu'], system_tags: ['dev'] }, ['b', 'd']],
      [{ tags: ['linux'], system_tags: ['-dev'] }, ['a']],
    ])('filter %j', async (filter, expected) => {
      for (const { worker, tags, system_tags } of fleet) {
        await registerWorker(api, worker, { tags, system_tags });
      }

      expect(await listedIds(api, filter)).toEqual(expected);
      expect(await countedWorkers(api, filter)).toBe(expected.length);
    });

    test('tags set by status_report are filtered on', async () => {
      await registerWorker(api, 'a', { tags: ['old'] });
      await registerWorker(api, 'b', { tags: ['old'] });

      await reportStatus(api, 'a', { tags: ['new'] });

      expect(await listedIds(api, { tags: ['new'] })).toEqual(['a']);
      expect(await listedIds(api, { tags: ['-new'] })).toEqual(['b']);
    });

    test('tags with quotes, commas and braces match exactly', async () => {
      const tags = ['a,b', '{x}', 'say "hi"', 'back\\slash', 'ünï'];
      for (const [index, tag] of tags.entries()) {
        await registerWorker(api, `w${index}`, { tags: [tag] });
      }

      for (const [index, tag] of tags.entries()) {
        expect(await listedIds(api, { tags: [tag] }), tag).toEqual([`w${index}`]);
      }
      expect(await listedIds(api, { tags: ['a'] })).toEqual([]);
    });
  });

  describe('worker_pattern', () => {
    const ids = [
      'gpu-01',
      'gpu-02',
      'gpu-10',
      'cpu-01',
      'gpu_01',
      'gpuX01',
      'gpu%01',
      'gpu.01',
      'gpu[01]',
      'gpu\\01',
      'my-gpu-01',
      'gpu-01:gpu0,1',
    ];

    test.each([
      ['*', ids],
      ['gpu-*', ['gpu-01', 'gpu-02', 'gpu-10', 'gpu-01:gpu0,1']],
      ['gpu-0?', ['gpu-01', 'gpu-02']],
      ['gpu?01', ['gpu-01', 'gpu_01', 'gpuX01', 'gpu%01', 'gpu.01', 'gpu\\01']],
      ['gpu??01', []],
      ['*01', ['gpu-01', 'cpu-01', 'gpu_01', 'gpuX01', 'gpu%01', 'gpu.01', 'gpu\\01', 'my-gpu-01']],
      ['*gpu*', ids.filter((id) => id.includes('gpu'))],
      ['gpu_01', ['gpu_01']],
      ['gpu%01', ['gpu%01']],
      ['gpu.01', ['gpu.01']],
      ['gpu[01]', ['gpu[01]']],
      ['gpu[0]1', []],
      ['gpu\\01', ['gpu\\01']],
      ['gpu', []],
      ['gpu-01', ['gpu-01']],
      ['pu-01', []],
      ['gpu-01:gpu0,1', ['gpu-01:gpu0,1']],
      ['GPU-01', []],
    ])('glob %j', async (pattern, expected) => {
      for (const id of ids) {
        await registerWorker(api, id);
      }

      expect(await listedIds(api, { worker_pattern: pattern })).toEqual([...expected].sort());
      expect(await countedWorkers(api, { worker_pattern: pattern })).toBe(expected.length);
    });

    test('glob combines with tags and last_seen', async () => {
      await registerWorker(api, 'gpu-old', { tags: ['x'] });
      api.clock.advance(4000);
      await registerWorker(api, 'gpu-new', { tags: ['x'] });
      await registerWorker(api, 'gpu-untagged');
      await registerWorker(api, 'cpu-new', { tags: ['x'] });

      expect(await listedIds(api, { worker_pattern: 'gpu-*', tags: ['x'] })).toEqual(['gpu-new']);
      expect(await countedWorkers(api, { worker_pattern: 'gpu-*', tags: ['x'] })).toBe(2);
    });
  });

  test('get_all orders workers by id', async () => {
    for (const id of ['gpu-10', 'gpu-02', 'cpu-01', 'gpu-01']) {
      await registerWorker(api, id);
    }

    const result = await api.call('workers.get_all', {});

    expect(result.data.workers.map((entry: { id: string }) => entry.id)).toEqual(['cpu-01', 'gpu-01', 'gpu-02', 'gpu-10']);
  });
});
