/** A check of one command-line option: the option, whether its parsed value is valid, and what it expects. */
export type OptionCheck = readonly [option: `--${string}`, valid: boolean, expected: string];

/** Raises an error naming the first invalid option with the value as given and what it expects. */
export function assertOptions(checks: readonly OptionCheck[], values: Record<string, unknown>): void {
  for (const [option, valid, expected] of checks) {
    if (!valid) {
      throw new Error(`invalid ${option} ${JSON.stringify(values[option.slice(2)])}: expected ${expected}`);
    }
  }
}

/**
 * Parses a command's arguments. On an invalid argument it prints the error and exits with
 * code 2; on --help it prints the usage and returns undefined.
 */
export function parseCommandLine<Settings>(parse: (args: string[]) => Settings | 'help', usage: string): Settings | undefined {
  let settings: Settings | 'help';
  try {
    settings = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nRun with --help for usage.\n`);
    process.exit(2);
  }

  if (settings === 'help') {
    process.stdout.write(usage);
    return undefined;
  }

  return settings;
}
