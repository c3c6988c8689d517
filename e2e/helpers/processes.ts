import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Repository root: every script path is relative to it. */
export const REPOSITORY_ROOT = path.resolve(__dirname, '..', '..');

/** A TypeScript program run with tsx in its own process group, its output in a log file. */
export interface ScriptProcess {
  name: string;
  logPath: string;
  child: ChildProcess;
  /** Exit code, or null when a signal ended it; resolves once the process has exited. */
  exited: Promise<number | null>;
  hasExited(): boolean;
  /** Sends `signal`, waits up to `timeoutMs`, then kills the whole process group. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  logTail(lines?: number): string;
}

const running = new Set<ScriptProcess>();

// Last resort when the test process exits without teardown (crash, interrupt): no child
// process group may outlive the run.
process.on('exit', () => {
  for (const script of running) {
    killGroup(script.child, 'SIGKILL');
  }
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;

  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group has no process left.
  }
}

/**
 * Starts `node --import tsx <script> <args>` from the repository root. The process leads
 * its own group so that stop() also reaches anything it spawned (`next build`).
 */
export function startScript(
  name: string,
  script: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; logDir: string },
): ScriptProcess {
  mkdirSync(options.logDir, { recursive: true });
  const logPath = path.join(options.logDir, `${name}.log`);
  // An undefined value removes the variable from the inherited environment.
  const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
  for (const [variable, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[variable];
    else env[variable] = value;
  }

  const logFd = openSync(logPath, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPOSITORY_ROOT,
    env,
    stdio: ['ignore', logFd, logFd],
    detached: true,
  });
  closeSync(logFd);

  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
    child.once('error', () => {
      exitCode = null;
      resolve(null);
    });
  });

  const handle: ScriptProcess = {
    name,
    logPath,
    child,
    exited,
    hasExited: () => exitCode !== undefined,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (exitCode === undefined && child.pid !== undefined) {
        child.kill(signal);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const outcome = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (outcome === 'timeout') killGroup(child, 'SIGKILL');
      }

      // Children of the script (if any) go with it even when the script itself exited.
      killGroup(child, 'SIGKILL');
      running.delete(handle);

      return exited;
    },
    logTail(lines = 40) {
      return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    },
  };
  running.add(handle);

  return handle;
}
