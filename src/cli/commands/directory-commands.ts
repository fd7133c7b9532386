import type { Command } from 'commander';
import { readJsonFile, type CliContext } from '../context.js';
import { emit, printRecord, printTable } from '../output.js';

export const JSON_HELP = 'print machine-readable JSON on stdout';
export const ZONE_HELP = 'zone ID (default: WRIT_ZONE, else the zone of a zone admin key)';

/** `writ zone|app|resource|issuer …`: the zone directory. */
export function registerDirectoryCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  const zone = program.command('zone').description('zones: isolated tenants (create/list need the root key)');
  zone
    .command('create')
    .description('create a zone')
    .requiredOption('--name <name>', 'zone name')
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const z = await c.client.request<Record<string, unknown>>('POST', '/v1/zones', { name: opts.name });
      emit(c.json, z, () => printRecord(z));
    });
  zone
    .command('list')
    .description('list zones')
    .option('--json', JSON_HELP)
    .action(async (_opts, cmd) => {
      const c = ctx(cmd);
      const items = await c.listAll('/v1/zones');
      emit(c.json, items, () => printTable(items, ['zone_id', 'name', 'active_policy_version', 'created_at']));
    });
  zone
    .command('key')
    .description('issue a zone admin key (the token is shown once)')
    .requiredOption('--name <name>', 'a label for the key')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const k = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/admin-keys`, { name: opts.name });
      emit(c.json, k, () => {
        printRecord(k);
        process.stderr.write('the token is shown once: store it now.\n');
      });
    });

  const app = program.command('app').description('applications: token-exchange clients');
  app
    .command('create')
    .description('register an application (the client_secret is shown once)')
    .requiredOption('--name <name>', 'application name')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
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
    .description('list applications')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const items = await c.listAll(`/v1/zones/${await c.zone(opts.zone)}/applications`);
      emit(c.json, items, () => printTable(items, ['application_id', 'name', 'registered_at']));
    });

  const resource = program.command('resource').description('protected resources and their scopes');
  resource
    .command('create')
    .description('define a resource')
    .requiredOption('--identifier <resource://slug>', 'e.g. resource://payments')
    .requiredOption('--scopes <scopes>', 'comma- or space-separated scopes it defines')
    .option('--upstream-url <url>', 'where the resource lives (informational)')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const body = { identifier: opts.identifier, scopes: splitScopes(opts.scopes), ...(opts.upstreamUrl ? { upstream_url: opts.upstreamUrl } : {}) };
      const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/resources`, body);
      emit(c.json, r, () => printRecord(r));
    });
  resource
    .command('list')
    .description('list resources')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const items = await c.listAll(`/v1/zones/${await c.zone(opts.zone)}/resources`);
      emit(c.json, items, () => printTable(items, ['resource_id', 'identifier', 'scopes']));
    });

  const issuer = program.command('issuer').description('trusted issuers of subject tokens');
  issuer
    .command('add')
    .description('trust an issuer of subject tokens for this zone')
    .requiredOption('--issuer <iss>', 'the `iss` claim of its tokens')
    .requiredOption('--jwks <file>', 'JSON file with its public keys: {"keys": [...]}')
    .option('--audience <aud>', 'require this `aud` claim')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const jwks = await readJsonFile(opts.jwks, 'JWKS file');
      const r = await c.client.request<Record<string, unknown>>('POST', `/v1/zones/${await c.zone(opts.zone)}/issuers`, {
        issuer: opts.issuer,
        jwks,
        ...(opts.audience ? { audience: opts.audience } : {}),
      });
      emit(c.json, r ?? {}, () => printRecord(r ?? {}));
    });
  issuer
    .command('list')
    .description('list trusted issuers')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const items = await c.listAll(`/v1/zones/${await c.zone(opts.zone)}/issuers`);
      emit(c.json, items, () => printTable(items, ['issuer_id', 'issuer', 'audience']));
    });
  issuer
    .command('remove <issuer_id>')
    .description('stop trusting an issuer (to replace its keys: remove, then add)')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const r = await c.client.request<Record<string, unknown>>('DELETE', `/v1/zones/${await c.zone(opts.zone)}/issuers/${encodeURIComponent(id)}`);
      emit(c.json, r, () => printRecord(r));
    });

  const session = program.command('session').description('sessions opened by token exchanges');
  session
    .command('list')
    .description('list sessions')
    .option('--subject <subject>', 'only this subject')
    .option('--app <application_id>', 'only this application')
    .option('--status <status>', 'active | revoked')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const q = new URLSearchParams();
      if (opts.subject) q.set('subject', opts.subject);
      if (opts.app) q.set('application_id', opts.app);
      if (opts.status) q.set('status', opts.status);
      const items = await c.listAll(`/v1/zones/${await c.zone(opts.zone)}/sessions`, q);
      emit(c.json, items, () => printTable(items, ['session_id', 'status', 'application_id', 'subject', 'started_at', 'revoked_at']));
    });
  session
    .command('get <session_id>')
    .description('show one session')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const r = await c.client.request<Record<string, unknown>>('GET', `/v1/zones/${await c.zone(opts.zone)}/sessions/${encodeURIComponent(id)}`);
      emit(c.json, r, () => printRecord(r));
    });
  session
    .command('revoke <session_id>')
    .description('revoke a session: every mandate issued in it stops working')
    .option('--reason <text>', 'recorded with the revocation')
    .option('--zone <zone_id>', ZONE_HELP)
    .option('--json', JSON_HELP)
    .action(async (id, opts, cmd) => {
      const c = ctx(cmd);
      const r = await c.client.request<Record<string, unknown>>(
        'POST',
        `/v1/zones/${await c.zone(opts.zone)}/sessions/${encodeURIComponent(id)}/revoke`,
        opts.reason ? { reason: opts.reason } : {},
      );
      emit(c.json, r, () => printRecord(r));
    });
}

export function splitScopes(s: string): string[] {
  return s.split(/[\s,]+/).filter(Boolean);
}
