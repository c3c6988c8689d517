import { parseCommandLine } from '../lib/cli';

import { ApiClient } from './api-client';
import { createLogger } from './logger';
import { MachineStatsSampler, MachineStatsSource } from './machine-stats';
import { USAGE, parseDaemonArgs } from './options';
import { Reporter } from './reporter';

async function main(): Promise<void> {
  const settings = parseCommandLine(parseDaemonArgs, USAGE);
  if (!settings) {
    return;
  }

  const logger = createLogger('agent');
  const workerLogger = logger.child({ worker: settings.worker });
  const reporter = new Reporter({
    client: new ApiClient({ server: settings.server, credentials: settings.credentials }),
    worker: settings.worker,
    queues: settings.queues,
    source: new MachineStatsSource(new MachineStatsSampler({ logger: workerLogger })),
    logger,
    periodMs: settings.periodSeconds * 1000,
    registrationTimeoutSeconds: settings.timeoutSeconds,
  });

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Shutdown is bounded by the unregister time limit, so later signals are ignored.
    if (signalled) {
      return;
    }
    signalled = true;
    workerLogger.info({ signal }, 'signal received, unregistering');
    void reporter.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  reporter.start();
}

void main();
