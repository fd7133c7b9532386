import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { CliContext } from '../context.js';
import { CliError } from '../http-client.js';
import { emit, printJson, printRecord, printTable, progress } from '../output.js';

type List<T> = { items: T[]; next_cursor: string | null };

/** `writ audit tail|trace|explain|replay|export|verify`. */
export function registerAuditCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  const audit = program.command('audit').description('decisions: trace, explain, replay, export');
  audit
    .command('tail')
    .option('--limit <n>', 'most recent decisions', '20')
    .option('--decision <allow|deny>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const q = new URLSearchParams({ limit: String(opts.limit), order: 'desc' });
      if (opts.decision) q.set('decision', opts.decision);
      const l = await c.client.request<List<Record<string, unknown>>>('GET', `/v1/zones/${await c.zone(opts.zone)}/audit/decisions?${q}`);
      const items = [...l.items].reverse();
      emit(c.json, items, () => printTable(items, ['occurred_at', 'request_id', 'decision', 'application_id', 'resource', 'granted_scopes']));
    });
  audit
    .command('trace <request_id>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const t = await c.client.request<Record<string, unknown>>('GET', `/v1/zones/${await c.zone(opts.zone)}/audit/decisions/${encodeURIComponent(id)}`);
      emit(c.json, t, () => printRecord(t));
    });
  audit
    .command('explain <request_id>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const e = await c.client.request<Record<string, unknown>>('GET', `/v1/zones/${await c.zone(opts.zone)}/audit/decisions/${encodeURIComponent(id)}/explain`);
      emit(c.json, e, () => {
        const { policy_input, denied, ...rest } = e;
        printRecord(rest);
        process.stdout.write('policy_input:\n');
        printJson(policy_input);
        if (Array.isArray(denied) && denied.length) {
          process.stdout.write('denied:\n');
          printJson(denied.map((d: Record<string, unknown>) => ({ determining_policies: d.determining_policies, diagnostics: d.diagnostics })));
        }
      });
    });
  audit
    .command('replay')
    .option('--since <time>')
    .option('--until <time>')
    .option('--candidate <version>', 'evaluate against this version instead of the recorded ones')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const body: Record<string, unknown> = {};
      if (opts.since) body.since = opts.since;
      if (opts.until) body.until = opts.until;
      if (opts.candidate) body.candidate_version = Number(opts.candidate);
      const started = Date.now();
      const spin = setInterval(() => !c.json && process.stderr.write(`\rreplaying… ${Math.round((Date.now() - started) / 1000)}s`), 500);
      try {
        const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/audit/replay`, body);
        clearInterval(spin);
        if (!c.json) process.stderr.write('\n');
        emit(c.json, r, () => {
          const { items, ...summary } = r;
          printRecord(summary);
          if (Array.isArray(items) && items.length) printTable(items as Array<Record<string, unknown>>, Object.keys((items[0] ?? {}) as object).slice(0, 6));
        });
        if (!opts.candidate && Number(r.mismatches ?? 0) > 0) {
          throw new CliError(`integrity alarm: ${String(r.mismatches)} recorded decisions do not re-evaluate to their record`, 'replay_mismatch', 4);
        }
      } finally {
        clearInterval(spin);
      }
    });
  audit
    .command('export')
    .requiredOption('--out <file>')
    .option('--since <time>')
    .option('--until <time>')
    .option('--format <ndjson|csv>', 'record format', 'ndjson')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const q = new URLSearchParams({ format: opts.format });
      if (opts.since) q.set('since', opts.since);
      if (opts.until) q.set('until', opts.until);
      const res = await c.client.fetch('GET', `/v1/zones/${await c.zone(opts.zone)}/audit/export?${q}`);
      if (!res.body) throw new CliError('empty export response', 'server_error');
      // Write to a temp name and rename at the end, so an interrupted export never looks complete.
      const tmp = `${opts.out}.partial`;
      const out = createWriteStream(tmp);
      const bar = progress('exporting', !c.json && process.stderr.isTTY === true);
      let lines = 0;
      let bytes = 0;
      try {
        for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)) {
          const buf = chunk as Buffer;
          for (const b of buf) if (b === 10) lines++;
          bytes += buf.length;
          if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
          bar.update(lines, lines);
        }
        await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
        await rename(tmp, opts.out);
      } catch (err) {
        out.destroy();
        await rm(tmp, { force: true });
        throw err;
      } finally {
        bar.stop();
      }
      const summary = { file: opts.out, lines, bytes };
      emit(c.json, summary, () => printRecord(summary));
    });
  audit
    .command('verify <file>')
    .option('--json', 'machine-readable output')
    .action(async (file, _opts, cmd) => {
      const c = ctx(cmd);
      const { verifyExportFile } = await import('../../audit/verify.js');
      const r = await verifyExportFile(file);
      emit(c.json, r, () => printRecord(r as unknown as Record<string, unknown>));
      if (!r.ok) throw new CliError(`export is not intact: first bad seq ${String(r.first_bad_seq)} (${String(r.reason)})`, 'export_tampered', 4);
    });
}
