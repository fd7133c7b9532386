/**
 * Errors of the event store port. Adapters translate their vendor's errors into these so that callers
 * handle one type whatever the ledger is.
 */

/** The stream was not at the expected revision. `actual` is -1n when the stream does not exist. */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  readonly code = 'concurrency_conflict' as const;
  constructor(
    readonly stream: string,
    readonly expected: string,
    readonly actual: bigint | undefined,
  ) {
    super(`stream ${stream}: expected revision ${expected}, actual ${actual === undefined ? 'unknown' : String(actual)}`);
  }
}

/** The ledger could not be reached or failed to write/read. The message is log-only; never show it to clients. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly code = 'store_unavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Format an expected revision for messages and errors. */
export function describeExpected(expected: 'no_stream' | 'any' | bigint): string {
  return typeof expected === 'bigint' ? String(expected) : expected;
}
