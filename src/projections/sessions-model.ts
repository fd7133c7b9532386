import type { WritEvent } from '../domain/events.js';
import { assertSnapshotVersion, type EventPosition, type ReadModel } from './read-model.js';
import { StringTable } from './string-table.js';

/** A session: the thread of exchanges one subject makes through one application; revoking it denies them all. */
export interface SessionView {
  readonly session_id: string;
  readonly zone_id: string;
  readonly application_id: string;
  readonly subject_id: string;
  readonly subject_type: 'user' | 'application';
  readonly status: 'active' | 'revoked';
  readonly started_at: string;
  readonly revoked_at: string | null;
  readonly reason: string | null;
}

/** Filters of the admin session list; `subject` matches subject_id. */
export interface SessionFilter {
  subject?: string;
  application_id?: string;
  status?: 'active' | 'revoked';
}

/** Row of the JSON form: [session_id, zone_id, application_id, subject_id, subject_type, started_at, revoked_at, reason]. */
export type SessionRow = [string, string, string, string, 'user' | 'application', string, string | null, string | null];

/** JSON form: rows as tuples (sessions can number in the millions; repeated keys would double the snapshot). */
export interface SessionsSnapshot {
  version: number;
  sessions: SessionRow[];
}

const VERSION = 1;

/**
 * Sessions by id (the STS checks the session on every exchange that names one) and per zone for the admin list.
 * Zone, application and subject strings are interned: they repeat across sessions.
 */
export class SessionsModel implements ReadModel<SessionsSnapshot> {
  readonly name = 'sessions';
  readonly version = VERSION;

  private readonly sessions = new Map<string, SessionView>();
  private readonly byZone = new Map<string, Set<string>>();
  private readonly strings = new StringTable();

  apply(event: WritEvent, _at: EventPosition): void {
    switch (event.type) {
      case 'SessionStarted': {
        const d = event.data;
        this.put({
          session_id: d.session_id,
          zone_id: d.zone_id,
          application_id: d.application_id,
          subject_id: d.subject_id,
          subject_type: d.subject_type,
          status: 'active',
          started_at: d.started_at,
          revoked_at: null,
          reason: null,
        });
        return;
      }
      case 'SessionRevoked': {
        const s = this.sessions.get(event.data.session_id);
        if (!s || s.status !== 'active') return;
        this.sessions.set(
          s.session_id,
          Object.freeze({ ...s, status: 'revoked' as const, revoked_at: event.data.revoked_at, reason: event.data.reason }),
        );
        return;
      }
      default:
        return;
    }
  }

  get(sessionId: string): SessionView | undefined {
    return this.sessions.get(sessionId);
  }

  /** The zone's sessions in start order. */
  list(zoneId: string, filter: SessionFilter = {}): SessionView[] {
    const out: SessionView[] = [];
    const ids = this.byZone.get(zoneId);
    if (!ids) return out;
    for (const id of ids) {
      const s = this.sessions.get(id)!;
      if (filter.subject !== undefined && s.subject_id !== filter.subject) continue;
      if (filter.application_id !== undefined && s.application_id !== filter.application_id) continue;
      if (filter.status !== undefined && s.status !== filter.status) continue;
      out.push(s);
    }
    return out;
  }

  reset(): void {
    this.sessions.clear();
    this.byZone.clear();
    this.strings.reset();
  }

  snapshot(): SessionsSnapshot {
    const sessions: SessionRow[] = [];
    for (const s of this.sessions.values()) {
      sessions.push([s.session_id, s.zone_id, s.application_id, s.subject_id, s.subject_type, s.started_at, s.revoked_at, s.reason]);
    }
    return { version: VERSION, sessions };
  }

  restore(snapshot: SessionsSnapshot): void {
    assertSnapshotVersion(this.name, VERSION, snapshot);
    this.reset();
    for (const [session_id, zone_id, application_id, subject_id, subject_type, started_at, revoked_at, reason] of snapshot.sessions) {
      this.put({
        session_id,
        zone_id,
        application_id,
        subject_id,
        subject_type,
        status: revoked_at === null ? 'active' : 'revoked',
        started_at,
        revoked_at,
        reason,
      });
    }
  }

  private put(s: SessionView): void {
    const record: SessionView = Object.freeze({
      ...s,
      zone_id: this.strings.canonical(s.zone_id),
      application_id: this.strings.canonical(s.application_id),
      subject_id: this.strings.canonical(s.subject_id),
    });
    this.sessions.set(record.session_id, record);
    let zone = this.byZone.get(record.zone_id);
    if (!zone) this.byZone.set(record.zone_id, (zone = new Set()));
    zone.add(record.session_id);
  }
}
