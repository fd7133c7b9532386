import type Database from 'better-sqlite3';

/** One append as the group writer takes it (events already serialized to JSON text). */
export interface GroupAppend {
  stream: string;
  expected: 'no_stream' | 'any' | bigint;
  events: Array<{ type: string; data: string; metadata: string }>;
}

/** Outcome of one append of a group. */
export type GroupOutcome = { ok: true; nextRevision: bigint; position: bigint } | { ok: false; conflict: true; actual: bigint | null };

/** See sqlite-group-commit.js. */
export function createGroupWriter(db: Database.Database): (batch: GroupAppend[]) => GroupOutcome[];
