import { apiErrors } from './errors';

/** The newest schema version this service speaks; a path with no version means it. */
export const NEWEST_VERSION = '2.30';

export type Version = readonly [major: number, minor: number];

const VERSION_PATTERN = /^(\d{1,9})\.(\d{1,9})$/;

/** Parses "2.30" into [2, 30], raising 400/2 for anything else. */
export function parseVersion(text: string): Version {
  const match = VERSION_PATTERN.exec(text);
  if (!match) {
    throw apiErrors.invalidVersion(text);
  }

  return [Number(match[1]), Number(match[2])];
}

export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1];
}

export function formatVersion(version: Version): string {
  return `${version[0]}.${version[1]}`;
}

/**
 * Resolves a requested version against an endpoint's versions (ascending): the newest
 * one that is not above the request, or null when the request is below the first.
 * A request above the newest version of the service is served by the newest.
 */
export function resolveVersion(requested: Version, versions: readonly string[]): string | null {
  let resolved: string | null = null;
  for (const candidate of versions) {
    if (compareVersions(parseVersion(candidate), requested) <= 0) {
      resolved = candidate;
    }
  }

  return resolved;
}
