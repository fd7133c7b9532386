import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { CliContext } from '../context.js';
import { CliError } from '../http-client.js';
import { emit, printJson, printRecord, printTable, progress } from '../output.js';
import { JSON_HELP, ZONE_HELP } from './directory-commands.js';

type List<T> = { items: T[]; next_cursor: string | null };

/** `writ audit tail|trace|explain|replay|export|verify`. */
export function registerAuditCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  const audit = program.command('audit').description('decisions: tail, trace, explain, replay, export, verify');
  audit
    .command('tail')
    .description('the most recent decisions, oldest first')
    .option('--limit <n>', 'how many (1-1000)', '20')
    .option('--decision <allow|deny>', 'only this outcome')
    .option('--app <application_id>', 'only this application')
    .option('--subject <subject>', 'only this subject')
    .option('--resource <identifier>', 'only this resource, e.g. resource://payments')
    .option('--since <time>', 'RFC 3339 time')
    .option('--until <time>', 'RFC 3339 time')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--limit must be an integer from 1 to 1000, got ${String(opts.limit)}`, 'invalid_request', 2);
      if (opts.decision && opts.decision !== 'allow' && opts.decision !== 'deny') throw new CliError(`--decision must be allow or deny, got ${String(opts.decision)}`, 'invalid_request', 2);
      const q = new URLSearchParams({ limit: String(limit), order: 'desc' });
      if (opts.decision) q.set('decision', opts.decision);
      if (opts.app) q.set('application_id', opts.app);
      if (opts.subject) q.set('subject', opts.subject);
      if (opts.resource) q.set('resource', opts.resource);
      if (opts.since) q.set('since', opts.since);
      if (opts.until) q.set('until', opts.until);
      const l = await c.client.request<List<Record<string, unknown>>>('GET', `/v1/zones/${await c.zone(opts.zone)}/audit/decisions?${q}`);
      const items = [...l.items].reverse();
      emit(c.json, items, () => printTable(items, ['occurred_at', 'request_id', 'decision', 'application_id', 'resource', 'granted_scopes']));
    });
  audit
    .command('trace <request_id>')
    .description('what was decided for one request, and why')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const t = await c.client.request<Record<string, unknown>>('GET', `/v1/zones/${await c.zone(opts.zone)}/audit/decisions/${encodeURIComponent(id)}`);
      emit(c.json, t, () => printRecord(t));
    });
  audit
    .command('explain <request_id>')
    .description('re-evaluate a decision on the state as of its time (policy input, digest check)')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
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
    .description('re-evaluate recorded decisions; without --candidate any mismatch is an integrity alarm (exit 4)')
    .option('--since <time>', 'RFC 3339 time')
    .option('--until <time>', 'RFC 3339 time')
    .option('--candidate <version>', 'evaluate against this policy-set version instead of the recorded ones')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const body: Record<string, unknown> = {};
      if (opts.since) body.since = opts.since;
      if (opts.until) body.until = opts.until;
      if (opts.candidate) body.candidate_version = Number(opts.candidate);
      const started = Date.now();
      const zone = await c.zone(opts.zone);
      // The spinner is for people: only on a terminal, never with --json.
      const interactive = !c.json && process.stderr.isTTY === true;
      const spin = setInterval(() => interactive && process.stderr.write(`\rreplaying… ${Math.round((Date.now() - started) / 1000)}s`), 500);
      try {
        const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${zone}/audit/replay`, body);
        clearInterval(spin);
        if (interactive) process.stderr.write('\n');
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
    .description('download the hash-chained decision records to a file (check it with `writ audit verify`)')
    .requiredOption('--out <file>', 'where to write (written to <file>.partial, renamed when complete)')
    .option('--since <time>', 'RFC 3339 time')
    .option('--until <time>', 'RFC 3339 time')
    .option('--format <ndjson|csv>', 'record format', 'ndjson')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      if (opts.format !== 'ndjson' && opts.format !== 'csv') throw new CliError(`--format must be ndjson or csv, got ${String(opts.format)}`, 'invalid_request', 2);
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
    .description('check the hash chain of an export offline; exit 4 naming the first bad seq when tampered')
    .option('--json', JSON_HELP)
    .action(async (file, _opts, cmd) => {
      const c = ctx(cmd);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) throw new CliError(`no such file: ${file}`, 'invalid_request', 2);
      const { verifyExportFile } = await import('../../audit/verify.js');
      const r = await verifyExportFile(file);
      emit(c.json, r, () => printRecord(r as unknown as Record<string, unknown>));
      if (!r.ok) {
        throw new CliError(
          `export is not intact: first bad seq ${String(r.first_bad_seq)} (${String(r.reason)}${r.detail ? `: ${r.detail}` : ''})`,
          'export_tampered',
          4,
          undefined,
          { first_bad_seq: r.first_bad_seq, reason: r.reason },
        );
      }
    });
}
