import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { emit, printRecord, printTable } from '../output.js';
import { splitScopes } from './directory-commands.js';

type List<T> = { items: T[]; next_cursor: string | null };
const COLUMNS = ['grant_id', 'status', 'application_id', 'resource_id', 'user_id', 'scopes'];

/** `writ grant create|list|get|revoke`. */
export function registerGrantCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  const grant = program.command('grant').description('grants: which application may ask for which scopes of a resource');
  grant
    .command('create')
    .requiredOption('--app <application_id>')
    .requiredOption('--resource <resource_id>')
    .requiredOption('--scopes <scopes>', 'comma- or space-separated')
    .option('--user <user_id>', 'restrict to exchanges for this subject')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const body = { application_id: opts.app, resource_id: opts.resource, scopes: splitScopes(opts.scopes), ...(opts.user ? { user_id: opts.user } : {}) };
      const g = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/grants`, body);
      emit(c.json, g, () => printRecord(g));
    });
  grant
    .command('list')
    .option('--app <application_id>')
    .option('--resource <resource_id>')
    .option('--user <user_id>')
    .option('--status <status>', 'active | revoked')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const q = new URLSearchParams({ limit: '1000' });
      if (opts.app) q.set('application_id', opts.app);
      if (opts.resource) q.set('resource_id', opts.resource);
      if (opts.user) q.set('user_id', opts.user);
      if (opts.status) q.set('status', opts.status);
      const l = await c.client.request<List<Record<string, unknown>>>('GET', `/v1/zones/${await c.zone(opts.zone)}/grants?${q}`);
      emit(c.json, l.items, () => printTable(l.items, COLUMNS));
    });
  grant
    .command('get <grant_id>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const g = await c.client.request<Record<string, unknown>>('GET', `/v1/zones/${await c.zone(opts.zone)}/grants/${encodeURIComponent(id)}`);
      emit(c.json, g, () => printRecord(g));
    });
  grant
    .command('revoke <grant_id>')
    .option('--zone <zone_id>')
    .option('--json', 'machine-readable output')
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const g = await c.client.request<Record<string, unknown>>('DELETE', `/v1/zones/${await c.zone(opts.zone)}/grants/${encodeURIComponent(id)}`);
      emit(c.json, g, () => printRecord(g));
    });
}
