import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { emit, printRecord, printTable } from '../output.js';
import { JSON_HELP, ZONE_HELP, splitScopes } from './directory-commands.js';

const COLUMNS = ['grant_id', 'status', 'application_id', 'resource_id', 'user_id', 'scopes'];

/** `writ grant create|list|get|revoke`. */
export function registerGrantCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  const grant = program.command('grant').description('grants: which application may ask for which scopes of a resource');
  grant
    .command('create')
    .description('grant an application scopes of a resource')
    .requiredOption('--app <application_id>', 'the application')
    .requiredOption('--resource <resource_id>', 'the resource (its resource_id)')
    .requiredOption('--scopes <scopes>', 'comma- or space-separated; a subset of the resource scopes')
    .option('--user <user_id>', 'restrict to exchanges for this subject')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const body = { application_id: opts.app, resource_id: opts.resource, scopes: splitScopes(opts.scopes), ...(opts.user ? { user_id: opts.user } : {}) };
      const g = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/grants`, body);
      emit(c.json, g, () => printRecord(g));
    });
  grant
    .command('list')
    .description('list grants')
    .option('--app <application_id>', 'only this application')
    .option('--resource <resource_id>', 'only this resource')
    .option('--user <user_id>', 'only this subject')
    .option('--status <status>', 'active | revoked')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const q = new URLSearchParams();
      if (opts.app) q.set('application_id', opts.app);
      if (opts.resource) q.set('resource_id', opts.resource);
      if (opts.user) q.set('user_id', opts.user);
      if (opts.status) q.set('status', opts.status);
      const items = await c.listAll(`/v1/zones/${await c.zone(opts.zone)}/grants`, q);
      emit(c.json, items, () => printTable(items, COLUMNS));
    });
  grant
    .command('get <grant_id>')
    .description('show one grant')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const g = await c.client.request<Record<string, unknown>>('GET', `/v1/zones/${await c.zone(opts.zone)}/grants/${encodeURIComponent(id)}`);
      emit(c.json, g, () => printRecord(g));
    });
  grant
    .command('revoke <grant_id>')
    .description('revoke a grant (new exchanges stop using it at once)')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const g = await c.client.request<Record<string, unknown>>('DELETE', `/v1/zones/${await c.zone(opts.zone)}/grants/${encodeURIComponent(id)}`);
      emit(c.json, g, () => printRecord(g));
    });
}
