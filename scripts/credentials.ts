import { parseArgs } from 'node:util';

import { databaseOptionsFromEnv, openDatabase } from '@/db/client';
import { ROLES, createCredential, listCredentials, revokeCredential, type Role } from '@/lib/auth/credentials';

const USAGE = `Usage: npm run credentials -- <command> [options]

Manages the API credentials, on the same database settings as the service (DATABASE_URL,
else the embedded database in WORKERS_DATA_DIR, default ./data; with the embedded
database, stop the service first: one process per data folder).

Commands:
  create --company <name> --user <name> [--role admin|user]
                  creates a credential for the user of the company (both are created
                  when missing; a new user gets --role, default user) and prints the
                  access key and the secret key. The secret is shown only this once.
  list            prints every access key with its company, user, creation time and,
                  when revoked, revocation time
  revoke <access_key>
                  revokes a credential: neither the pair nor its tokens work any more
                  (a running service notices within 2 seconds)

Options:
  --json          print JSON instead of text
  -h, --help      print this help
`;

/** A command-line mistake: printed with a hint at --help, exit code 2. */
class UsageError extends Error {}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      company: { type: 'string' },
      user: { type: 'string' },
      role: { type: 'string', default: 'user' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(USAGE);
    return;
  }

  const print = (json: unknown, text: string) => process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : text);

  // Validated before the database opens, so that a typo costs no migration run.
  if (command === 'create') {
    if (!values.company || !values.user) {
      throw new UsageError('create needs --company <name> and --user <name>');
    }
    if (!(ROLES as readonly string[]).includes(values.role)) {
      throw new UsageError(`invalid --role ${JSON.stringify(values.role)}: expected ${ROLES.join(' or ')}`);
    }
  } else if (command === 'revoke') {
    if (rest.length !== 1) {
      throw new UsageError('revoke needs exactly one access key');
    }
  } else if (command !== 'list') {
    throw new UsageError(`unknown command ${JSON.stringify(command)}: expected create, list or revoke`);
  }

  const handle = await openDatabase(databaseOptionsFromEnv());
  try {
    if (command === 'create') {
      const created = await createCredential(handle.db, {
        companyName: values.company ?? '',
        userName: values.user ?? '',
        role: values.role as Role,
      });
      print(
        { access_key: created.accessKey, secret_key: created.secretKey, company: created.companyName, user: created.userName },
        `Created a credential for user ${JSON.stringify(created.userName)} of company ${JSON.stringify(created.companyName)}.\n` +
          `access_key: ${created.accessKey}\n` +
          `secret_key: ${created.secretKey}\n` +
          'The secret key is shown only now. Daemons take it as --access-key/--secret-key or\n' +
          'WORKERS_ACCESS_KEY/WORKERS_SECRET_KEY; the dashboard signs in with the pair.\n',
      );
    } else if (command === 'list') {
      const rows = await listCredentials(handle.db);
      const json = rows.map((row) => ({
        access_key: row.accessKey,
        company: row.companyName,
        user: row.userName,
        created: row.createdAt.toISOString(),
        revoked: row.revokedAt?.toISOString() ?? null,
      }));
      const lines = json.map((row) =>
        [row.access_key, row.company, row.user, row.created, row.revoked ? `revoked ${row.revoked}` : 'valid'].join('\t'),
      );
      print(json, `${['access_key', 'company', 'user', 'created', 'status'].join('\t')}\n${lines.map((line) => `${line}\n`).join('')}`);
    } else {
      const accessKey = rest[0];
      if (!(await revokeCredential(handle.db, accessKey))) {
        throw new Error(`no valid credential has the access key ${JSON.stringify(accessKey)}: see \`npm run credentials -- list\``);
      }
      print({ revoked: accessKey }, `Revoked ${accessKey}.\n`);
    }
  } finally {
    await handle.close();
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`${message}\n${usage ? 'Run with --help for usage.\n' : ''}`);
  process.exit(usage ? 2 : 1);
});
