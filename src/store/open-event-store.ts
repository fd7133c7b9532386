import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EventStore } from './event-store.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { MemoryEventStore } from './memory-event-store.js';
import { SqliteEventStore } from './sqlite-event-store.js';

/** What `openEventStore` needs from the configuration (WRIT_EVENTSTORE, WRIT_DATA_DIR). */
export interface EventStoreConfig {
  /** Unset or empty: embedded SQLite. `esdb://` / `esdb+discover://`: EventStoreDB. `memory:`: throwaway. */
  eventstore?: string | undefined;
  dataDir: string;
}

/**
 * Open the ledger the configuration names:
 * - unset: SQLite at `<dataDir>/ledger.db` (the single-machine default);
 * - `esdb://host:2113?tls=false` or `esdb+discover://a:2113,b:2113,c:2113`: EventStoreDB;
 * - `sqlite:/path/ledger.db`: SQLite at that path (several instances on one machine may share it);
 * - `memory:`: in-process, lost on exit (tests, demos).
 * Anything else is a configuration error, reported without echoing the value (it may hold credentials).
 */
export async function openEventStore(config: EventStoreConfig): Promise<EventStore> {
  const url = config.eventstore?.trim();
  if (!url) {
    mkdirSync(config.dataDir, { recursive: true });
    return SqliteEventStore.open(join(config.dataDir, 'ledger.db'));
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'esdb':
    case 'esdb+discover':
      try {
        return EventStoreDbEventStore.fromConnectionString(url);
      } catch (error) {
        // The client's message quotes the offending text, which may be part of a password: keep only where
        // and what it expected.
        const { location, expected } = error as { location?: unknown; expected?: unknown };
        const hint = Array.isArray(location) && expected !== undefined ? ` at position ${String(location[0])}, expected ${String(expected)}` : '';
        throw new Error(`invalid WRIT_EVENTSTORE: not a valid EventStoreDB connection string${hint}`);
      }
    case 'memory':
      return new MemoryEventStore();
    case 'sqlite': {
      // sqlite:/path/to/ledger.db: one ledger file shared by several instances on one machine (WAL allows
      // several processes), each with its own WRIT_DATA_DIR for projection checkpoints.
      const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      if (!path) throw new Error('invalid WRIT_EVENTSTORE: sqlite: needs a file path, e.g. sqlite:/var/lib/writ/ledger.db');
      mkdirSync(dirname(path), { recursive: true });
      return SqliteEventStore.open(path);
    }
    default:
      throw new Error(
        `invalid WRIT_EVENTSTORE: unsupported scheme ${scheme ? `"${scheme}:"` : '(none)'}; ` +
          'use esdb://host:2113?tls=false, esdb+discover://host1:2113,host2:2113,host3:2113, sqlite:/path/ledger.db, memory:, ' +
          'or leave it unset for SQLite in WRIT_DATA_DIR',
      );
  }
}
