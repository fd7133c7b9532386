/**
 * Cursors of the audit decision list. Opaque to clients (base64url) so the encoding can change; inside, the
 * position of the last item returned: decisions are listed in position order and positions never move.
 */

/** A cursor that this server did not produce (or a mangled one). The API maps it to 400 invalid_request. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
  readonly code = 'invalid_request' as const;
  constructor(readonly cursor: string) {
    super('invalid cursor');
  }
}

const PREFIX = 'd1.';

/** The cursor that continues a listing after the decision at `position`. */
export function encodeDecisionCursor(position: bigint): string {
  return Buffer.from(`${PREFIX}${position}`, 'utf8').toString('base64url');
}

/** The position the cursor points after. */
export function decodeDecisionCursor(cursor: string): bigint {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) throw new InvalidCursorError(cursor);
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) throw new InvalidCursorError(cursor);
  const digits = text.slice(PREFIX.length);
  if (!/^(0|[1-9]\d{0,18})$/.test(digits)) throw new InvalidCursorError(cursor);
  return BigInt(digits);
}
