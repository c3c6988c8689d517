import { describe, expect, test } from 'vitest';

import { TEST_TARGETS } from '../helpers/database';

import { bodyOf, COMPANY, createProject, errorEnvelope, expectOk, START, USER, useApiServer } from './fixtures';

describe.each(TEST_TARGETS)('projects endpoints on %s', (target) => {
  const api = useApiServer(target);

  test('project fields are exact', async () => {
    const created = await api.call('projects.create', { name: 'Vision', description: 'image models' });

    expectOk(created);
    expect(created.data).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const listed = await api.call('projects.get_all', {});
    expect(listed.data).toEqual({
      projects: [{ id: created.data.id, name: 'Vision', description: 'image models', user: USER.id, company: COMPANY.id, created: START }],
    });
  });

  test('get_all filters by id and name', async () => {
    const vision = await createProject(api, 'Vision');
    api.clock.advance(1);
    await createProject(api, 'Language models');
    api.clock.advance(1);
    const forecasting = await createProject(api, 'Forecasting');

    const names = async (body: Record<string, unknown>) =>
      (await api.call('projects.get_all', body)).data.projects.map((project: { name: string }) => project.name);

    expect(await names({})).toEqual(['Vision', 'Language models', 'Forecasting']);
    expect(await names({ id: [vision, forecasting] })).toEqual(['Vision', 'Forecasting']);
    expect(await names({ name: 'language\\ models' })).toEqual(['Language models']);
    expect(await names({ name: 'ON' })).toEqual(['Vision']);
  });

  test('only_fields returns those fields and the id', async () => {
    const id = await createProject(api, 'Vision');

    const result = await api.call('projects.get_all', { only_fields: ['name'] });

    expect(result.data).toEqual({ projects: [{ id, name: 'Vision' }] });
  });

  test('missing name is 400/11', async () => {
    const result = await api.call('projects.create', {});

    expect(bodyOf(result)).toEqual(errorEnvelope('projects.create', 400, 11, 'Missing required fields: name', { fields: ['name'] }, { actual: '2.4' }));
  });
});
