import postgres from 'postgres';

import type { DatabaseHandle } from '@/db/client';
import { openServiceDatabase } from '@/lib/database';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * The benchmark's databases on one PostgreSQL server: each is created empty, migrated
 * by the service's own code, and dropped by `dropAll`, also after a failure.
 */
export class BenchDatabases {
  private readonly admin: postgres.Sql;
  private readonly created: string[] = [];

  /** Raises an error unless `adminUrl` names a server on this machine, which may create databases. */
  constructor(private readonly adminUrl: string) {
    const host = new URL(adminUrl).hostname;
    if (!LOOPBACK_HOSTS.has(host)) {
      throw new Error(`DATABASE_URL names host ${JSON.stringify(host)}: the benchmark creates and drops databases, so it runs only against a server on 127.0.0.1`);
    }
    this.admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  }

  /** The server's version string, for the machine line. */
  async serverVersion(): Promise<string> {
    const [row] = await this.admin<{ version: string }[]>`SELECT current_setting('server_version') AS version`;

    return row.version;
  }

  /** Creates the database `fleet_bench_<pid>_<name>` and returns its URL. */
  async create(name: string): Promise<string> {
    const database = `fleet_bench_${process.pid}_${name}`;
    await this.admin.unsafe(`CREATE DATABASE "${database}"`);
    this.created.push(database);

    const url = new URL(this.adminUrl);
    url.pathname = `/${database}`;

    return url.toString();
  }

  /** Creates a database and opens it as the service does: migrated, with the default identity. */
  async open(name: string): Promise<{ url: string; handle: DatabaseHandle }> {
    const url = await this.create(name);
    const handle = await openServiceDatabase({ kind: 'postgres', url, maxConnections: 4 });

    return { url, handle };
  }

  /** Drops every database this object created, closing their remaining connections. */
  async dropAll(): Promise<void> {
    while (this.created.length > 0) {
      const database = this.created.pop() as string;
      await this.admin.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    }
    await this.admin.end({ timeout: 5 });
  }
}
