import type { Command } from 'commander';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CliContext } from '../context.js';
import { CliError } from '../http-client.js';
import { emit, printRecord, printTable } from '../output.js';

/** Read `.rego` modules from a file or a directory (not recursive: a policy set is a flat module list). */
export async function readRegoModules(path: string): Promise<Record<string, string>> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new CliError(`no such file or directory: ${path}`, 'invalid_request', 2);
  const files = info.isDirectory() ? (await readdir(path)).filter((f) => f.endsWith('.rego')).map((f) => join(path, f)) : [path];
  if (files.length === 0) throw new CliError(`no .rego files in ${path}`, 'invalid_request', 2);
  const modules: Record<string, string> = {};
  for (const f of files) modules[basename(f)] = await readFile(f, 'utf8');
  return modules;
}

/** `writ policy-set create|list|activate|simulate`. */
export function registerPolicySetCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  const ps = program.command('policy-set').description('policy-set versions (Rego on OPA)');
  ps.command('create')
    .option('--rego <path>', 'a .rego file or a directory of them (compiled by the server)')
    .option('--bundle <file>', 'an OPA bundle built with `opa build -t wasm -e writ/authz/result`')
    .option('--data <file>', 'JSON data document for --rego')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const zone = await c.zone(opts.zone);
      let v: Record<string, unknown>;
      if (opts.bundle) {
        v = await c.client.request('POST', `/v1/zones/${zone}/policy-sets/versions`, new Uint8Array(await readFile(opts.bundle)));
      } else if (opts.rego) {
        const body: Record<string, unknown> = { modules: await readRegoModules(opts.rego) };
        if (opts.data) body.data = JSON.parse(await readFile(opts.data, 'utf8'));
        v = await c.client.request('POST', `/v1/zones/${zone}/policy-sets/versions`, body);
      } else {
        throw new CliError('pass --rego <dir|file> or --bundle <file>', 'invalid_request', 2);
      }
      emit(c.json, v, () => printRecord(v));
    });
  ps.command('list')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const l = await c.client.request<{ active_version: number; versions: Array<Record<string, unknown>> }>('GET', `/v1/zones/${await c.zone(opts.zone)}/policy-sets`);
      emit(c.json, l, () => {
        process.stdout.write(`active version: ${l.active_version}\n`);
        printTable(l.versions, ['version', 'digest', 'created_at', 'activated_at']);
      });
    });
  ps.command('activate <version>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (version, opts, cmd) => {
      const c = ctx(cmd);
      const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/policy-sets/versions/${encodeURIComponent(version)}/activate`);
      emit(c.json, r, () => printRecord(r));
    });
  ps.command('simulate <version>')
    .option('--input <file>', 'policy input JSON (e.g. from `writ audit explain`)')
    .option('--request-id <id>', 'simulate the recorded input of this request')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (version, opts, cmd) => {
      const c = ctx(cmd);
      let body: Record<string, unknown>;
      if (opts.requestId) body = { request_id: opts.requestId };
      else if (opts.input) body = { input: JSON.parse(await readFile(opts.input, 'utf8')) };
      else throw new CliError('pass --input <file> or --request-id <id>', 'invalid_request', 2);
      const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/policy-sets/versions/${encodeURIComponent(version)}/simulate`, body);
      emit(c.json, r, () => printRecord(r));
    });
}
