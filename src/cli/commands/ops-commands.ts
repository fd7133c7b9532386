import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { CliContext } from '../context.js';
import { CliError } from '../http-client.js';
import { emit, printRecord, progress } from '../output.js';
import { splitScopes } from './directory-commands.js';

/** `writ serve|status|projections|keys|run`. */
export function registerOpsCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  program
    .command('serve')
    .description('run the writ server with the configuration in the environment')
    .action(async () => {
      const { serve } = await import('../../server.js');
      await serve();
    });

  program
    .command('status')
    .description('readiness of the server and its dependencies')
    .option('--ready', 'exit 1 unless ready (for automation gates)')
    .option('--json', 'machine-readable output')
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const res = await fetch(`${c.client.url}/v1/health/ready`).catch((err: Error) => {
        throw new CliError(`cannot reach writ at ${c.client.url} (${err.message}); set WRIT_URL`, 'unreachable', 3);
      });
      const ready = (await res.json()) as Record<string, unknown>;
      let detailed: Record<string, unknown> | undefined;
      if (process.env.WRIT_ADMIN_TOKEN) detailed = await c.client.request<Record<string, unknown>>('GET', '/v1/health/detailed').catch(() => undefined);
      const out = { url: c.client.url, ready: res.status === 200, ...ready, ...(detailed ? { detailed } : {}) };
      emit(c.json, out, () => printRecord(out));
      if (opts.ready && res.status !== 200) throw new CliError('writ is not ready', 'not_ready', 1);
    });

  const projections = program.command('projections').description('read models');
  projections
    .command('rebuild')
    .description('rebuild every read model from the ledger in WRIT_DATA_DIR (stop the server first)')
    .option('--json', 'machine-readable output')
    .action(async (_opts, cmd) => {
      const c = ctx(cmd);
      const { loadConfig } = await import('../../config.js');
      const { rebuildProjections } = await import('../rebuild-projections.js');
      const bar = progress('rebuilding', !c.json);
      const started = Date.now();
      const r = await rebuildProjections(loadConfig(), (done, total) => bar.update(done, total));
      bar.stop();
      const out = { events: r.events, position: r.position, seconds: (Date.now() - started) / 1000 };
      emit(c.json, out, () => printRecord(out));
    });

  const keys = program.command('keys').description('mandate signing keys');
  keys
    .command('rotate')
    .description('make a new signing key active; old public keys stay published until their mandates expire (restart or let the server pick it up)')
    .option('--json', 'machine-readable output')
    .action(async (_opts, cmd) => {
      const c = ctx(cmd);
      const { loadConfig } = await import('../../config.js');
      const { rotateSigningKeys } = await import('../../sts/signing-keys.js');
      const config = loadConfig();
      const r = await rotateSigningKeys(config.dataDir, config.mandateTtlSeconds);
      emit(c.json, r, () => printRecord(r as unknown as Record<string, unknown>));
    });

  program
    .command('run')
    .description('exchange a subject token for a mandate and run a command with it in WRIT_MANDATE')
    .requiredOption('--resource <identifier>', 'e.g. resource://payments')
    .requiredOption('--scope <scopes>', 'space- or comma-separated')
    .option('--session <session_id>', 'continue a session')
    .option('--subject-token-file <file>', 'default: WRIT_SUBJECT_TOKEN')
    .option('--json', 'print the exchange result (without the token) to stderr as JSON')
    .argument('<command...>')
    .action(async (command: string[], opts, cmd) => {
      const c = ctx(cmd);
      const clientId = process.env.WRIT_CLIENT_ID;
      const clientSecret = process.env.WRIT_CLIENT_SECRET;
      if (!clientId || !clientSecret) throw new CliError('set WRIT_CLIENT_ID and WRIT_CLIENT_SECRET (the application credentials)', 'invalid_client', 2);
      const subjectToken = opts.subjectTokenFile ? (await readFile(opts.subjectTokenFile, 'utf8')).trim() : process.env.WRIT_SUBJECT_TOKEN;
      if (!subjectToken) throw new CliError('set WRIT_SUBJECT_TOKEN or pass --subject-token-file', 'invalid_request', 2);
      const form = new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: subjectToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        resource: opts.resource,
        scope: splitScopes(opts.scope).join(' '),
      });
      if (opts.session) form.set('session_id', opts.session);
      const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
      const r = await c.client.request<{ access_token: string; expires_in: number; scope: string; session_id: string; request_id: string }>('POST', '/v1/sts/token', form.toString(), {
        auth: false,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      });
      const { access_token, ...info } = r;
      if (c.json) process.stderr.write(`${JSON.stringify(info)}\n`);
      const [bin, ...args] = command;
      const child = spawn(bin!, args, { stdio: 'inherit', env: { ...process.env, WRIT_MANDATE: access_token, WRIT_SESSION_ID: r.session_id, WRIT_REQUEST_ID: r.request_id } });
      const code = await new Promise<number>((resolve) => {
        child.on('error', () => resolve(127));
        child.on('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
      });
      process.exitCode = code;
    });
}
