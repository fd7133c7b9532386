import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { emit, printRecord, printTable } from '../output.js';

type List<T> = { items: T[]; next_cursor: string | null };

/** `writ zone|app|resource|issuer …`: the zone directory. */
export function registerDirectoryCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  const zone = program.command('zone').description('zones (root key)');
  zone
    .command('create')
    .requiredOption('--name <name>', 'zone name')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const z = await c.client.request<Record<string, unknown>>('POST', '/v1/zones', { name: opts.name });
      emit(c.json, z, () => printRecord(z));
    });
  zone
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (_opts, cmd) => {
      const c = ctx(cmd);
      const l = await c.client.request<List<Record<string, unknown>>>('GET', '/v1/zones?limit=1000');
      emit(c.json, l.items, () => printTable(l.items, ['zone_id', 'name', 'created_at']));
    });
  zone
    .command('key')
    .description('issue a zone admin key (shown once)')
    .requiredOption('--name <name>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const k = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/admin-keys`, { name: opts.name });
      emit(c.json, k, () => printRecord(k));
    });

  const app = program.command('app').description('applications (token-exchange clients)');
  app
    .command('create')
    .requiredOption('--name <name>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const a = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/applications`, { name: opts.name });
      emit(c.json, a, () => {
        printRecord(a);
        process.stderr.write('client_secret is shown once: store it now.\n');
      });
    });
  app
    .command('list')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const l = await c.client.request<List<Record<string, unknown>>>('GET', `/v1/zones/${await c.zone(opts.zone)}/applications?limit=1000`);
      emit(c.json, l.items, () => printTable(l.items, ['application_id', 'name', 'registered_at']));
    });

  const resource = program.command('resource').description('protected resources');
  resource
    .command('create')
    .requiredOption('--identifier <resource://slug>')
    .requiredOption('--scopes <scopes>', 'comma- or space-separated scopes')
    .option('--upstream-url <url>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const body = { identifier: opts.identifier, scopes: splitScopes(opts.scopes), ...(opts.upstreamUrl ? { upstream_url: opts.upstreamUrl } : {}) };
      const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/resources`, body);
      emit(c.json, r, () => printRecord(r));
    });
  resource
    .command('list')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const l = await c.client.request<List<Record<string, unknown>>>('GET', `/v1/zones/${await c.zone(opts.zone)}/resources?limit=1000`);
      emit(c.json, l.items, () => printTable(l.items, ['resource_id', 'identifier', 'scopes']));
    });

  const issuer = program.command('issuer').description('trusted issuers of subject tokens');
  issuer
    .command('add')
    .requiredOption('--issuer <iss>')
    .requiredOption('--jwks <file>', 'JSON file with {keys: [...]}')
    .option('--audience <aud>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const { readFile } = await import('node:fs/promises');
      const jwks = JSON.parse(await readFile(opts.jwks, 'utf8'));
      const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/issuers`, { issuer: opts.issuer, jwks, ...(opts.audience ? { audience: opts.audience } : {}) });
      emit(c.json, r, () => printRecord(r));
    });
}

export function splitScopes(s: string): string[] {
  return s.split(/[\s,]+/).filter(Boolean);
}
