import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export interface RunningScript {
  child: ChildProcess;
  /** Stdout so far, one entry per line. */
  stdoutLines: string[];
  stderr(): string;
  /** Resolves with the exit code, or the signal name when a signal killed the process. */
  exited: Promise<number | string>;
  /** Sends SIGKILL if the process still runs; for cleanup. */
  kill(): Promise<void>;
}

/** Runs a TypeScript entry point of the project with `node --import tsx`, as one process. */
export function runScript(entry: string, args: string[]): RunningScript {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });

  const stdoutLines: string[] = [];
  let pending = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop() ?? '';
    stdoutLines.push(...parts.filter((line) => line !== ''));
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });

  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });

  return {
    child,
    stdoutLines,
    stderr: () => stderr,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Parses the JSON log lines among `lines`, skipping any other output. */
export function parseLogLines(lines: string[]): Record<string, unknown>[] {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}
