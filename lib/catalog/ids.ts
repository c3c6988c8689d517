import { randomUUID } from 'node:crypto';

/** Makes a new object id: 32 lowercase hex characters, as ClearML makes them. */
export function newObjectId(): string {
  return randomUUID().replaceAll('-', '');
}
