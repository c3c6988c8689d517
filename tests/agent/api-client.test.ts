import { createServer, type AddressInfo, type Socket } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import {
  ApiClient,
  ApiNetworkError,
  ApiResponseError,
  apiBaseUrl,
  isRetryableError,
  isWorkerNotRegisteredError,
} from '../../agent/api-client';
import { envelope, findFreePort, startEnvelopeServer, type EnvelopeServer } from './helpers';

let server: EnvelopeServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('apiBaseUrl', () => {
  it.each([
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000/api'],
    ['http://127.0.0.1:3000/', 'http://127.0.0.1:3000/api'],
    ['http://127.0.0.1:3000/api', 'http://127.0.0.1:3000/api'],
    ['http://127.0.0.1:3000/api/', 'http://127.0.0.1:3000/api'],
    ['https://fleet.example/monitor', 'https://fleet.example/monitor/api'],
  ])('maps %s to %s', (server, expected) => {
    expect(apiBaseUrl(server)).toBe(expected);
  });

  it('rejects a URL that is not http or https', () => {
    expect(() => apiBaseUrl('ftp://127.0.0.1')).toThrow('invalid server URL "ftp://127.0.0.1": the scheme must be http or https');
  });
});

describe('ApiClient.call', () => {
  it('posts JSON and returns data', async () => {
    server = await startEnvelopeServer(() => ({ status: 200, body: envelope(200, 0, 'OK', { count: 3 }) }));
    const client = new ApiClient({ server: server.url });

    const data = await client.call('workers.get_count', { last_seen: 60 });

    expect(data).toEqual({ count: 3 });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].endpoint).toBe('workers.get_count');
    expect(server.requests[0].body).toEqual({ last_seen: 60 });
    expect(server.requests[0].headers['content-type']).toBe('application/json');
  });

  it('sends provider headers per request', async () => {
    server = await startEnvelopeServer(() => ({ status: 200, body: envelope(200) }));
    let calls = 0;
    const client = new ApiClient({
      server: server.url,
      headers: () => {
        calls += 1;
        return { authorization: `Bearer token-${calls}` };
      },
    });

    await client.call('workers.get_all', {});
    await client.call('workers.get_all', {});

    expect(server.requests.map((request) => request.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('throws error envelope codes', async () => {
    server = await startEnvelopeServer(() => ({ status: 400, body: envelope(400, 1001, 'invalid worker id') }));
    const client = new ApiClient({ server: server.url });

    const error = await client.call('workers.status_report', {}).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiResponseError);
    expect(error).toMatchObject({ endpoint: 'workers.status_report', httpStatus: 400, resultCode: 400, resultSubcode: 1001 });
    expect((error as Error).message).toBe('workers.status_report failed with 400/1001: invalid worker id');
    expect(isWorkerNotRegisteredError(error)).toBe(true);
    expect(isRetryableError(error)).toBe(false);
  });

  it('retries a 503 envelope', async () => {
    server = await startEnvelopeServer(() => ({ status: 503, body: envelope(503, 102, 'database unavailable') }));
    const client = new ApiClient({ server: server.url });

    const error = await client.call('workers.status_report', {}).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ resultCode: 503, resultSubcode: 102 });
    expect(isRetryableError(error)).toBe(true);
  });

  it('retries a non-JSON 502', async () => {
    server = await startEnvelopeServer(() => ({ status: 502, body: '<html>Bad Gateway</html>' }));
    const client = new ApiClient({ server: server.url });

    const error = await client.call('workers.register', {}).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiResponseError);
    expect((error as Error).message).toBe('workers.register failed with 502/0: invalid response envelope (HTTP 502, 24 bytes)');
    expect(isRetryableError(error)).toBe(true);
  });

  it('does not retry 200 without envelope', async () => {
    server = await startEnvelopeServer(() => ({ status: 200, body: '{"ok":true}' }));
    const client = new ApiClient({ server: server.url });

    const error = await client.call('workers.register', {}).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ httpStatus: 200, resultCode: 200, resultSubcode: 0 });
    expect(isRetryableError(error)).toBe(false);
  });

  it('retries a refused connection', async () => {
    const port = await findFreePort();
    const client = new ApiClient({ server: `http://127.0.0.1:${port}` });

    const error = await client.call('workers.register', {}).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiNetworkError);
    expect((error as ApiNetworkError).code).toBe('ECONNREFUSED');
    expect(isRetryableError(error)).toBe(true);
  });

  it('times out a silent server', async () => {
    // A TCP server that accepts connections and never responds.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const client = new ApiClient({ server: `http://127.0.0.1:${port}`, timeoutMs: 200 });

    try {
      const error = await client.call('workers.register', {}).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(ApiNetworkError);
      expect((error as ApiNetworkError).code).toBe('TimeoutError');
      expect(isRetryableError(error)).toBe(true);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("rethrows the caller's abort", async () => {
    server = await startEnvelopeServer(() => ({ status: 200, body: envelope(200) }));
    const client = new ApiClient({ server: server.url });
    const stop = new Error('stopping');

    const error = await client
      .call('workers.register', {}, { signal: AbortSignal.abort(stop) })
      .catch((caught: unknown) => caught);

    expect(error).toBe(stop);
  });
});

describe('ApiClient typed calls', () => {
  it('validates requests before sending', async () => {
    server = await startEnvelopeServer(() => ({ status: 200, body: envelope(200) }));
    const client = new ApiClient({ server: server.url });

    await expect(client.register({ worker: '' })).rejects.toThrow('must be a non-empty string');
    expect(server.requests).toHaveLength(0);
  });

  it('sends status report with stats', async () => {
    server = await startEnvelopeServer(() => ({ status: 200, body: envelope(200) }));
    const client = new ApiClient({ server: server.url });

    await client.statusReport({ worker: 'box:gpu0,1', timestamp: 1_700_000_000_000, machine_stats: { cpu_usage: [1, 2], memory_used: 10 } });

    expect(server.requests[0].endpoint).toBe('workers.status_report');
    expect(server.requests[0].body).toEqual({
      worker: 'box:gpu0,1',
      timestamp: 1_700_000_000_000,
      machine_stats: { cpu_usage: [1, 2], memory_used: 10 },
    });
  });
});
