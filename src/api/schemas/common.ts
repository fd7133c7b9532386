import { z } from 'zod';
import { ApiError } from '../api-error.js';

/**
 * Schemas shared by every route: the public error shape, list envelopes and paging, path ids. Routes declare
 * a schema for params, querystring, body and every response status, so validation, serialization (which also
 * strips any field a schema does not name: a read model row carrying a hash can never leak through a GET)
 * and the OpenAPI document all come from one place.
 */

/**
 * writ's one error body (API.md, Conventions). No registry `id`: app.ts emits inline schemas, and an id would
 * turn into a `$ref` to a component that is never defined.
 */
export const ErrorBody = z
  .object({
    error: z.string().describe('stable machine-readable code'),
    error_description: z.string().describe('public, human-readable text'),
    request_id: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .describe('writ error');

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed request (`invalid_request` with `details.issues`), or a domain rule refused it',
  401: '`authentication_required` (no Authorization header) or `invalid_token`',
  403: '`zone_forbidden`: the admin key belongs to another zone, or the route is root-only',
  404: 'Not found (`zone_not_found`, `<thing>_not_found`)',
  409: 'Conflict with the current state',
  413: '`payload_too_large`: body over 10 MB',
  415: '`unsupported_media_type`',
  422: 'The submitted policy or bundle is refused',
  501: '`compiler_unavailable`: the opa CLI is not installed on the server',
  503: 'A dependency is unavailable; retry later',
};

/** The error response schemas for the given statuses, each described for OpenAPI. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  const out: Record<number, typeof ErrorBody> = {};
  for (const s of statuses) out[s] = ErrorBody.describe(ERROR_TEXT[s] ?? 'Error');
  return out;
}


/** Path-segment ids: the same grammar as ids in events, bounded so junk never reaches a read model. */
export const PathId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/);

export const ZoneParams = z.object({ zone_id: PathId });

/** `limit` and `cursor` of every list. Default 100, at most 1000. */
export const Paging = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).max(512).optional().describe('opaque: the `next_cursor` of the previous page'),
});

/** `{items, next_cursor}` around an item schema. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

/** RFC 3339 time as a string (read models already hold them as strings). */
export const TimeString = z.string().describe('RFC 3339 UTC time');

/**
 * Cursors are opaque to clients: base64url of the last returned key, so they can change format later.
 * A cursor that does not decode is the client's mistake (400), not an empty page.
 */
export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { k?: unknown }).k === 'string') {
      return (parsed as { k: string }).k;
    }
  } catch {
    // fall through
  }
  throw new ApiError(400, 'invalid_request', 'cursor is not valid', { issues: [{ path: 'querystring.cursor', message: 'not a cursor returned by this API' }] });
}

/**
 * One page of `items` ordered by `key` (ids are sortable ULIDs, so this is creation order): the items after
 * the cursor's key, at most `limit`, and the cursor of the next page when more remain.
 */
export function page<T>(items: readonly T[], key: (item: T) => string, paging: { limit: number; cursor?: string | undefined }): { items: T[]; next_cursor: string | null } {
  const after = decodeCursor(paging.cursor);
  const sorted = [...items].sort((a, b) => compare(key(a), key(b)));
  const start = after === undefined ? 0 : firstAfter(sorted, key, after);
  const slice = sorted.slice(start, start + paging.limit);
  const more = start + paging.limit < sorted.length;
  return { items: slice, next_cursor: more && slice.length > 0 ? encodeCursor(key(slice[slice.length - 1]!)) : null };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstAfter<T>(sorted: readonly T[], key: (item: T) => string, after: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(sorted[mid]!) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
