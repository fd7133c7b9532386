import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** Sortable unique ids with a readable type prefix (`grt_01J…`): sortable helps cursors and logs. */
export function newId(prefix: 'zone' | 'key' | 'iss' | 'app' | 'res' | 'grt' | 'ses' | 'req' | 'jti'): string {
  return `${prefix}_${nextUlid().toLowerCase()}`;
}
