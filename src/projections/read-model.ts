import type { WritEvent } from '../domain/events.js';

/** Where an event sits in the ledger, handed to read models alongside the decoded event. */
export interface EventPosition {
  /** Global ledger position (strictly increasing, not necessarily dense on every adapter). */
  position: bigint;
  /** When the ledger stored the event (RFC 3339, UTC). */
  recordedAt: string;
  streamId: string;
  /** Revision of the event within its stream. */
  revision: bigint;
}

/**
 * An in-memory projection folded from the ledger. The STS reads these on every token exchange, so they live
 * in memory; a snapshot plus the position it was taken at (a checkpoint) lets a restart skip most of the fold.
 *
 * Contract:
 * - `apply` is synchronous and total: events the model does not care about are ignored. Events arrive once each,
 *   in position order. Because `apply` is synchronous, a snapshot taken from another task is always taken between
 *   two events, hence consistent.
 * - `snapshot()` returns a fresh JSON-serializable value (bigints as decimal strings) that shares nothing mutable
 *   with the model, so it can be written out while the model keeps folding. It carries the model's `version`.
 * - `restore()` replaces the whole state; it throws `SnapshotVersionError` for a snapshot of another version.
 */
export interface ReadModel<S = unknown> {
  /** Stable name: the key of the model's checkpoint. */
  readonly name: string;
  /**
   * Snapshot format and fold semantics version. Bump it whenever the snapshot shape or the meaning of the fold
   * changes: a checkpoint with another version is ignored and the model is rebuilt from the ledger instead.
   */
  readonly version: number;
  apply(event: WritEvent, at: EventPosition): void;
  /** Back to the empty state (position -1). */
  reset(): void;
  snapshot(): S;
  restore(snapshot: S): void;
}

/** A snapshot that was written by another version of its model (or is not a snapshot of it at all). */
export class SnapshotVersionError extends Error {
  override readonly name = 'SnapshotVersionError';
  constructor(
    readonly model: string,
    readonly expected: number,
    readonly actual: unknown,
  ) {
    super(`snapshot of ${model}: expected version ${expected}, got ${JSON.stringify(actual) ?? String(actual)}`);
  }
}

/** Shared guard for `restore` implementations. */
export function assertSnapshotVersion(model: string, expected: number, snapshot: unknown): void {
  const actual = typeof snapshot === 'object' && snapshot !== null ? (snapshot as { version?: unknown }).version : snapshot;
  if (actual !== expected) throw new SnapshotVersionError(model, expected, actual);
}
