import type { Command } from 'commander';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readJsonFile, type CliContext } from '../context.js';
import { CliError } from '../http-client.js';
import { emit, printRecord, printTable } from '../output.js';
import { JSON_HELP, ZONE_HELP } from './directory-commands.js';

/** Read `.rego` modules from a file or a directory (not recursive: a policy set is a flat module list). */
export async function readRegoModules(path: string): Promise<Record<string, string>> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new CliError(`no such file or directory: ${path}`, 'invalid_request', 2);
  const files = info.isDirectory()
    ? (await readdir(path))
        .filter((f) => f.endsWith('.rego'))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new CliError(`no .rego files in ${path}`, 'invalid_request', 2);
  const modules: Record<string, string> = {};
  for (const f of files) modules[basename(f)] = await readFile(f, 'utf8');
  return modules;
}

/**
 * The policy input of a `--input` file: either the input itself or the JSON printed by
 * `writ audit explain --json` (whose `policy_input` is used).
 */
export function policyInputOf(parsed: unknown): unknown {
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const o = parsed as Record<string, unknown>;
    if (!('schema_version' in o) && o.policy_input && typeof o.policy_input === 'object') return o.policy_input;
  }
  return parsed;
}

/** `writ policy-set create|list|activate|simulate`. */
export function registerPolicySetCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  const ps = program.command('policy-set').description('policy-set versions (Rego on OPA, entrypoint writ/authz/result)');
  ps.command('create')
    .description('upload a new policy-set version (not active until `activate`)')
    .option('--rego <path>', 'a .rego file or a directory of them (compiled by the server)')
    .option('--bundle <file>', 'an OPA bundle built with `opa build -t wasm -e writ/authz/result`')
    .option('--data <file>', 'JSON data document for --rego')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      if (opts.rego && opts.bundle) throw new CliError('pass either --rego or --bundle, not both', 'invalid_request', 2);
      let body: Uint8Array | Record<string, unknown>;
      if (opts.bundle) {
        body = new Uint8Array(
          await readFile(opts.bundle).catch((err: NodeJS.ErrnoException) => {
            throw new CliError(`cannot read bundle ${opts.bundle}: ${err.code ?? err.message}`, 'invalid_request', 2);
          }),
        );
      } else if (opts.rego) {
        body = { modules: await readRegoModules(opts.rego) };
        if (opts.data) body.data = await readJsonFile(opts.data, 'data file');
      } else {
        throw new CliError('pass --rego <dir|file> or --bundle <file>', 'invalid_request', 2);
      }
      const v = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/policy-sets/versions`, body);
      emit(c.json, v, () => printRecord(v));
    });
  ps.command('list')
    .description('list versions and show which one is active')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const l = await c.client.request<{ active_version: number; versions: Array<Record<string, unknown>> }>('GET', `/v1/zones/${await c.zone(opts.zone)}/policy-sets`);
      emit(c.json, l, () => {
        process.stdout.write(`active version: ${l.active_version}\n`);
        printTable(l.versions, ['version', 'digest', 'created_at', 'activated_at']);
      });
    });
  ps.command('activate <version>')
    .description('make a version the one new exchanges are evaluated with')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (version, opts, cmd) => {
      const c = ctx(cmd);
      const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/policy-sets/versions/${encodeURIComponent(version)}/activate`);
      emit(c.json, r, () => printRecord(r));
    });
  ps.command('simulate <version>')
    .description('evaluate a version against an input or a recorded request (records nothing)')
    .option('--input <file>', 'policy input JSON (or the output of `writ audit explain --json`)')
    .option('--request-id <id>', 'use the recorded input of this request')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (version, opts, cmd) => {
      const c = ctx(cmd);
      let body: Record<string, unknown>;
      if (opts.requestId && opts.input) throw new CliError('pass either --input or --request-id, not both', 'invalid_request', 2);
      if (opts.requestId) body = { request_id: opts.requestId };
      else if (opts.input) body = { input: policyInputOf(await readJsonFile(opts.input, 'input file')) };
      else throw new CliError('pass --input <file> or --request-id <id>', 'invalid_request', 2);
      const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/policy-sets/versions/${encodeURIComponent(version)}/simulate`, body);
      emit(c.json, r, () => printRecord(r));
    });
}
