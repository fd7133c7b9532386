import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestWrit, type TestWrit } from '../support/harness.js';
import { startRedis, type RedisHandle } from '../support/redis-server.js';
import { setUpZone, type AuditZone } from './audit-fixture.js';
import { SIEM_CHECKPOINT_KEY, SiemStream, siemStreamKey } from '../../src/audit/siem-stream.js';

describe('SIEM audit stream (Redis)', () => {
  let redis: RedisHandle;
  let r: Redis;
  let dataDir: string;
  let t: TestWrit | undefined;
  let z: AuditZone;
  let client: { application_id: string; client_secret: string };
  let identifier: string;

  beforeAll(async () => {
    redis = await startRedis();
    r = new Redis(redis.url);
    dataDir = await mkdtemp(join(tmpdir(), 'writ-siem-'));
  });
  afterAll(async () => {
    await t?.close();
    r?.disconnect();
    await redis?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const shipped = async (writ: TestWrit) => {
    await writ.writ.audit.siem!.waitFor(await writ.writ.store.headPosition());
  };

  it('adds every recorded decision to writ:audit:<zone_id>, with the ledger position as entry ID', async () => {
    t = await startTestWrit({ dataDir, redisUrl: redis.url });
    await t.writ.audit.siem!.ready;
    z = await setUpZone(t);
    client = await z.app();
    const res = await z.resource('payments', ['p:read', 'p:write']);
    identifier = res.identifier;
    await z.grant(client.application_id, res.resource_id, ['p:read']);
    const ok = await z.exchange({ client, sub: 'alice', resource: identifier, scope: 'p:read', claims: { email: 'alice@example.com' } });
    const no = await z.exchange({ client, sub: 'alice', resource: identifier, scope: 'p:write' });
    expect([ok.status, no.status]).toEqual([200, 403]);
    await shipped(t);

    const entries = await r.xrange(siemStreamKey(z.zoneId), '-', '+');
    expect(entries).toHaveLength(2);
    const fields = entries.map(([, f]) => Object.fromEntries(f.reduce<string[][]>((acc, v, i) => (i % 2 ? acc[acc.length - 1]!.push(v) : acc.push([v]), acc), [])));
    expect(fields.map((f) => [f.request_id, f.decision])).toEqual([
      [ok.requestId, 'allow'],
      [no.requestId, 'deny'],
    ]);
    expect(entries[0]![0]).toBe(`${fields[0]!.position}-1`);
    const record = JSON.parse(fields[0]!.record!) as Record<string, unknown>;
    expect(record).toMatchObject({ request_id: ok.requestId, zone_id: z.zoneId, granted_scopes: ['p:read'] });
    expect(fields[0]!.record).not.toContain('alice@example.com');
  });

  it('serves consumer groups (XGROUP CREATE / XREADGROUP / XACK), as docs/audit.md describes', async () => {
    const key = siemStreamKey(z.zoneId);
    await r.xgroup('CREATE', key, 'siem', '0');
    const read = (await r.xreadgroup('GROUP', 'siem', 'c1', 'COUNT', '10', 'STREAMS', key, '>')) as Array<[string, Array<[string, string[]]>]>;
    const ids = read[0]![1].map(([id]) => id);
    expect(ids).toHaveLength(2);
    expect(await r.xack(key, 'siem', ...ids)).toBe(2);
    const pending = (await r.xpending(key, 'siem')) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it('resumes after a restart from its checkpoint: decisions recorded while it was down are shipped, none twice', async () => {
    await t!.close();
    t = undefined;
    // Decisions recorded by an instance without Redis.
    const offline = await startTestWrit({ dataDir });
    z.use(offline);
    const missed = await z.exchange({ client, sub: 'bob', resource: identifier, scope: 'p:read' });
    expect(missed.status).toBe(200);
    await offline.close();

    t = await startTestWrit({ dataDir, redisUrl: redis.url });
    z.use(t);
    const live = await z.exchange({ client, sub: 'carol', resource: identifier, scope: 'p:read' });
    await shipped(t);
    const entries = await r.xrange(siemStreamKey(z.zoneId), '-', '+');
    const requestIds = entries.map(([, f]) => f[f.indexOf('request_id') + 1]);
    expect(requestIds.slice(2)).toEqual([missed.requestId, live.requestId]);
    expect(new Set(requestIds).size).toBe(requestIds.length);
    expect(BigInt((await r.get(SIEM_CHECKPOINT_KEY))!)).toBe(await t.writ.store.headPosition());
  });

  it('ships each decision once even when several instances (or a replay from an old checkpoint) ship the same ledger', async () => {
    const before = await r.xlen(siemStreamKey(z.zoneId));
    // A second shipper that starts from the beginning of the ledger: every XADD it makes is a duplicate.
    await r.set(SIEM_CHECKPOINT_KEY, '-1');
    const conn = new Redis(redis.url);
    const second = new SiemStream(t!.writ.store, conn);
    second.start();
    await second.waitFor(await t!.writ.store.headPosition());
    const again = await z.exchange({ client, sub: 'dave', resource: identifier, scope: 'p:read' });
    await second.waitFor(await t!.writ.store.headPosition());
    await shipped(t!);
    await second.close();
    conn.disconnect();
    const after = await r.xrange(siemStreamKey(z.zoneId), '-', '+');
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)![1]).toContain(again.requestId);
  });
});
