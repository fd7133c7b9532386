import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { exportChunks, type ExportFormat } from '../../src/audit/export.js';
import { verifyExport, verifyExportFile } from '../../src/audit/verify.js';
import { canonicalDecision, canonicalRecord, csvDecision, csvRecord, ndjsonDecision, ndjsonRecord, decisionRecord, GENESIS_HASH, recordHash, referenceRecordHash, type DecisionSource } from '../../src/audit/export-record.js';
import { csvRow, parseCsv } from '../../src/audit/csv.js';
import { canonicalJson } from '../../src/crypto/canonical-json.js';

/** Decisions with awkward strings in every free-text field. */
function decisions(n: number): DecisionSource[] {
  const nasty = ['plain', 'comma, inside', 'quote " inside', 'line\nbreak', 'crlf\r\nhere', '=cmd|calc', "'leading", '-1', 'é€😀', ''];
  return Array.from({ length: n }, (_, i) => ({
    position: BigInt(10 + i * 3),
    recordedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    data: {
      request_id: `req_${i}`,
      zone_id: 'zone_a',
      occurred_at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
      application_id: 'app_1',
      subject_id: `user ${nasty[i % nasty.length] || 'x'}`,
      subject_type: 'user' as const,
      actor_id: i % 3 === 0 ? null : nasty[(i + 1) % nasty.length]!,
      session_id: i % 2 === 0 ? `ses_${i}` : null,
      session_opened: i % 4 === 0,
      resource: { id: i % 5 === 0 ? null : 'res_1', identifier: i % 5 === 0 ? 'resource://un,known' : 'resource://payments' },
      requested_scopes: ['payments:read', nasty[i % nasty.length]!],
      granted_scopes: i % 2 === 0 ? ['payments:read'] : [],
      decision: i % 2 === 0 ? ('allow' as const) : ('deny' as const),
      determining_policies: ['writ.default', 'policy "quoted", with comma'],
      diagnostics: i % 2 === 0 ? [] : [{ reason: 'scope_not_granted', scope: 'payments:write', message: `why:\n${nasty[i % nasty.length]}` }, { reason: 'x' }],
      policy_set_version: i % 7 === 0 ? null : 1 + (i % 3),
      policy_set_digest: i % 7 === 0 ? null : 'a'.repeat(64),
      ledger_position: String(9 + i * 3),
      input_digest: i % 7 === 0 ? null : 'b'.repeat(64),
      grant_ids: i % 2 === 0 ? ['grt_1', 'grt_2'] : [],
      mandate: i % 2 === 0 ? { jti: `jti_${i}`, exp: '2025-01-01T00:05:00.000Z' } : null,
    },
  }));
}

async function exportText(src: DecisionSource[], format: ExportFormat): Promise<string> {
  async function* gen() {
    yield* src;
  }
  let out = '';
  for await (const chunk of exportChunks(gen(), format)) out += chunk;
  return out;
}

/** Records of an export as editable units: NDJSON lines, or CSV rows (header apart). */
function split(text: string, format: ExportFormat): { head: string; units: string[] } {
  if (format === 'ndjson') return { head: '', units: text.split('\n').filter((l) => l !== '').map((l) => `${l}\n`) };
  const [header, ...rows] = parseCsv(text);
  return { head: csvRow(header!), units: rows.map((r) => csvRow(r)) };
}
const join_ = (p: { head: string; units: string[] }) => p.head + p.units.join('');

/** Change the subject of the record at index i (0-based) without touching its hash. */
function editUnit(unit: string, format: ExportFormat): string {
  if (format === 'ndjson') {
    const r = JSON.parse(unit) as Record<string, unknown>;
    r.granted_scopes = ['payments:admin'];
    return `${JSON.stringify(r)}\n`;
  }
  const [cells] = parseCsv(unit);
  cells![17] = '["payments:admin"]';
  return csvRow(cells!);
}

describe.each(['ndjson', 'csv'] as const)('export and verify (%s)', (format) => {
  const src = decisions(12);
  let text = '';
  beforeAll(async () => {
    text = await exportText(src, format);
  });

  it('verifies an intact export and reports its count', async () => {
    const r = await verifyExport([text]);
    expect(r).toMatchObject({ ok: true, format, count: 12, records: 13 });
  });

  it('verifies however the input is chunked', async () => {
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 7) chunks.push(text.slice(i, i + 7));
    expect((await verifyExport(chunks)).ok).toBe(true);
  });

  it('carries seq 1..n, a genesis prev_hash and a chained trailer', () => {
    const { units } = split(text, format);
    expect(units).toHaveLength(13);
    if (format === 'ndjson') {
      const recs = units.map((u) => JSON.parse(u) as Record<string, unknown>);
      expect(recs.map((r) => r.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
      expect(recs[0]!.prev_hash).toBe(GENESIS_HASH);
      for (let i = 1; i < recs.length; i++) expect(recs[i]!.prev_hash).toBe(recs[i - 1]!.hash);
      for (const r of recs) expect(referenceRecordHash(r)).toBe(r.hash);
      expect(recs[12]).toMatchObject({ type: 'export_end', count: 12, last_hash: recs[11]!.hash });
      expect(recs[0]).not.toHaveProperty('claims');
    }
  });

  it('detects an edited record', async () => {
    const p = split(text, format);
    p.units[4] = editUnit(p.units[4]!, format);
    expect(await verifyExport([join_(p)])).toMatchObject({ ok: false, first_bad_seq: 5, reason: 'edited' });
  });

  it('detects an edited record that was re-hashed (its successor no longer chains to it)', async () => {
    if (format !== 'ndjson') return;
    const p = split(text, format);
    const r = JSON.parse(p.units[4]!) as Record<string, unknown>;
    r.decision = r.decision === 'allow' ? 'deny' : 'allow';
    r.hash = referenceRecordHash(r);
    p.units[4] = `${JSON.stringify(r)}\n`;
    expect(await verifyExport([join_(p)])).toMatchObject({ ok: false, first_bad_seq: 5, reason: 'edited' });
  });

  it('detects a deleted record', async () => {
    const p = split(text, format);
    p.units.splice(6, 1);
    expect(await verifyExport([join_(p)])).toMatchObject({ ok: false, first_bad_seq: 7, reason: 'deleted' });
  });

  it('detects a deleted first record and a deleted last decision', async () => {
    const first = split(text, format);
    first.units.splice(0, 1);
    expect(await verifyExport([join_(first)])).toMatchObject({ ok: false, first_bad_seq: 1, reason: 'deleted' });
    const last = split(text, format);
    last.units.splice(11, 1);
    expect(await verifyExport([join_(last)])).toMatchObject({ ok: false, first_bad_seq: 12, reason: 'deleted' });
  });

  it('detects reordered records', async () => {
    const p = split(text, format);
    [p.units[3], p.units[4]] = [p.units[4]!, p.units[3]!];
    expect(await verifyExport([join_(p)])).toMatchObject({ ok: false, first_bad_seq: 4, reason: 'reordered' });
    const moved = split(text, format);
    const [second] = moved.units.splice(1, 1);
    moved.units.splice(9, 0, second!);
    expect(await verifyExport([join_(moved)])).toMatchObject({ ok: false, first_bad_seq: 2, reason: 'reordered' });
  });

  it('detects truncation: trailer dropped, cut at a record boundary, cut inside a record', async () => {
    const noTrailer = split(text, format);
    noTrailer.units.pop();
    expect(await verifyExport([join_(noTrailer)])).toMatchObject({ ok: false, first_bad_seq: 13, reason: 'truncated' });
    const cut = split(text, format);
    cut.units.splice(8);
    expect(await verifyExport([join_(cut)])).toMatchObject({ ok: false, first_bad_seq: 9, reason: 'truncated' });
    const whole = split(text, format);
    const mid = join_({ head: whole.head, units: whole.units.slice(0, 8) }) + whole.units[8]!.slice(0, 40);
    expect(await verifyExport([mid])).toMatchObject({ ok: false, first_bad_seq: 9, reason: 'truncated' });
    expect(await verifyExport([''])).toMatchObject({ ok: false, reason: 'truncated' });
  });

  it('detects a duplicated record and data after the trailer', async () => {
    const dup = split(text, format);
    dup.units.splice(5, 0, dup.units[2]!);
    expect(await verifyExport([join_(dup)])).toMatchObject({ ok: false, first_bad_seq: 6, reason: 'inserted' });
    const after = split(text, format);
    after.units.push(after.units[0]!);
    expect(await verifyExport([join_(after)])).toMatchObject({ ok: false, reason: 'inserted' });
  });

  it('verifies files (what `writ audit verify` runs)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'writ-audit-'));
    try {
      const file = join(dir, `export.${format}`);
      await writeFile(file, text);
      expect(await verifyExportFile(file)).toMatchObject({ ok: true, records: 13 });
      const p = split(text, format);
      p.units[0] = editUnit(p.units[0]!, format);
      await writeFile(file, join_(p));
      expect(await verifyExportFile(file)).toMatchObject({ ok: false, first_bad_seq: 1, reason: 'edited' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('export records', () => {
  it('hash the same in NDJSON and CSV', async () => {
    const src = decisions(9);
    const nd = split(await exportText(src, 'ndjson'), 'ndjson').units.map((u) => (JSON.parse(u) as { hash: string }).hash);
    const csv = parseCsv(await exportText(src, 'csv')).slice(1).map((r) => r[r.length - 1]);
    expect(csv).toEqual(nd);
  });

  it('the export hot path encodes exactly as the generic record encoders', () => {
    for (const [i, src] of decisions(20).entries()) {
      const rec = decisionRecord(src, i + 1, GENESIS_HASH);
      expect(csvDecision(src, i + 1, GENESIS_HASH)).toEqual(csvRecord(rec));
      expect(ndjsonDecision(src, i + 1, GENESIS_HASH)).toEqual(ndjsonRecord(rec));
    }
  });

  it('an empty export is just a verifiable trailer', async () => {
    for (const format of ['ndjson', 'csv'] as const) {
      const r = await verifyExport([await exportText([], format)]);
      expect(r).toMatchObject({ ok: true, count: 0, records: 1 });
    }
  });

  it('the fast canonical form equals canonical JSON for any decision', () => {
    const str = fc.string({ maxLength: 10 });
    fc.assert(
      fc.property(
        fc.record({
          subject: str,
          actor: fc.option(str, { nil: null }),
          scopes: fc.array(str, { maxLength: 4 }),
          diags: fc.array(fc.record({ reason: str, message: fc.option(str, { nil: undefined }), scope: fc.option(str, { nil: undefined }) }, { requiredKeys: ['reason'] }), { maxLength: 3 }),
          version: fc.option(fc.integer({ min: 1, max: 1e6 }), { nil: null }),
        }),
        (g) => {
          const base = decisions(1)[0]!;
          const src: DecisionSource = {
            ...base,
            data: { ...base.data, subject_id: g.subject, actor_id: g.actor, requested_scopes: g.scopes, diagnostics: g.diags as never, policy_set_version: g.version },
          };
          const rec = decisionRecord(src, 1, GENESIS_HASH);
          expect(canonicalRecord(rec)).toBe(canonicalJson(rec));
          expect(canonicalDecision(src, 1, GENESIS_HASH)).toBe(canonicalJson(rec));
          expect(recordHash(rec)).toBe(referenceRecordHash(rec as unknown as Record<string, unknown>));
        },
      ),
      { numRuns: 200 },
    );
  });
});

