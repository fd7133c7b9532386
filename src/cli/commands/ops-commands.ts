import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { CliContext } from '../context.js';
import { CliError } from '../http-client.js';
import { emit, printRecord, progress } from '../output.js';
import { JSON_HELP, splitScopes } from './directory-commands.js';

/** `writ serve|status|projections|keys|run`. */
export function registerOpsCommands(program: Command, ctx: (cmd: Command) => CliContext): void {
  program
    .command('serve')
    .summary('run the writ server (configured by WRIT_* variables)')
    .description('run the writ server with the configuration in the environment (WRIT_PORT, WRIT_DATA_DIR, …); logs are JSON lines')
    .action(async () => {
      const { serve } = await import('../../server.js');
      await serve();
    });

  program
    .command('status')
    .description('readiness of the server and its dependencies')
    .option('--ready', 'exit 1 unless ready (for automation gates)')
    .option('--json', JSON_HELP)
    .action(async (opts, cmd) => {
      const c = ctx(cmd);
      const res = await fetch(`${c.client.url}/v1/health/ready`).catch((err: Error) => {
        throw new CliError(`cannot reach writ at ${c.client.url} (${err.cause ? String(err.cause) : err.message}); is it running? set WRIT_URL`, 'unreachable', 3);
      });
      const text = await res.text();
      let ready: Record<string, unknown>;
      try {
        ready = JSON.parse(text) as Record<string, unknown>;
      } catch {
        ready = { body: text.slice(0, 200) };
      }
      let detailed: Record<string, unknown> | undefined;
      if (process.env.WRIT_ADMIN_TOKEN) detailed = await c.client.request<Record<string, unknown>>('GET', '/v1/health/detailed').catch(() => undefined);
      const out = { url: c.client.url, ready: res.status === 200, ...ready, ...(detailed ? { detailed } : {}) };
      emit(c.json, out, () => printRecord(statusLines(out.url, out.ready, ready, detailed)));
      if (opts.ready && res.status !== 200) throw new CliError('writ is not ready', 'not_ready', 1);
    });

  const projections = program.command('projections').description('read models (offline maintenance)');
  projections
    .command('rebuild')
    .description('rebuild every read model from the ledger in WRIT_DATA_DIR (stop the server first)')
    .option('--json', JSON_HELP)
    .action(async (_opts, cmd) => {
      const c = ctx(cmd);
      const { loadConfig } = await import('../../config.js');
      const { rebuildProjections } = await import('../rebuild-projections.js');
      const bar = progress('rebuilding', !c.json && process.stderr.isTTY === true);
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
    .option('--json', JSON_HELP)
    .action(async (_opts, cmd) => {
      const c = ctx(cmd);
      const { loadConfig } = await import('../../config.js');
      const { rotateSigningKeys } = await import('../../sts/signing-keys.js');
      const config = loadConfig();
      const r = await rotateSigningKeys(config.dataDir, new Date(), config.keysDir);
      emit(c.json, r, () => printRecord(r as unknown as Record<string, unknown>));
    });

  program
    .command('run')
    .description(
      'exchange a subject token for a mandate (client: WRIT_CLIENT_ID/WRIT_CLIENT_SECRET) and run a command with it in ' +
        'WRIT_MANDATE (also WRIT_SESSION_ID, WRIT_REQUEST_ID); exits with the command\'s exit code',
    )
    .summary('run a command with a fresh mandate in WRIT_MANDATE')
    .usage('[options] -- <command> [args...]')
    .requiredOption('--resource <identifier>', 'e.g. resource://payments')
    .requiredOption('--scope <scopes>', 'space- or comma-separated')
    .option('--session <session_id>', 'continue a session')
    .option('--subject-token-file <file>', 'read the subject token from a file (default: WRIT_SUBJECT_TOKEN)')
    .option('--json', 'print the exchange result (without the token) as JSON on stderr; stdout belongs to the command')
    .argument('<command...>', 'the command to run, after --')
    .action(async (command: string[], opts, cmd) => {
      const c = ctx(cmd);
      const clientId = process.env.WRIT_CLIENT_ID;
      const clientSecret = process.env.WRIT_CLIENT_SECRET;
      if (!clientId || !clientSecret) throw new CliError('set WRIT_CLIENT_ID and WRIT_CLIENT_SECRET (the application credentials)', 'invalid_client', 2);
      const subjectToken = opts.subjectTokenFile
        ? (
            await readFile(opts.subjectTokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
              throw new CliError(`cannot read ${opts.subjectTokenFile}: ${err.code ?? err.message}`, 'invalid_request', 2);
            })
          ).trim()
        : process.env.WRIT_SUBJECT_TOKEN;
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
      // The command gets the mandate and nothing stronger: the admin key, the client secret and the subject
      // token stay with writ.
      const env: NodeJS.ProcessEnv = { ...process.env, WRIT_MANDATE: access_token, WRIT_SESSION_ID: r.session_id, WRIT_REQUEST_ID: r.request_id };
      for (const secret of ['WRIT_ADMIN_TOKEN', 'WRIT_CLIENT_SECRET', 'WRIT_SUBJECT_TOKEN']) delete env[secret];
      const child = spawn(bin!, args, { stdio: 'inherit', env });
      const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
      const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
      for (const [s, h] of handlers) process.on(s, h);
      const code = await new Promise<number>((resolve) => {
        child.on('error', (err) => {
          process.stderr.write(`writ: cannot run ${bin}: ${err.message}\n`);
          resolve(127);
        });
        // Like a shell: a command killed by a signal exits 128 + the signal number.
        child.on('exit', (status, signal) => resolve(status ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1)));
      });
      for (const [s, h] of handlers) process.off(s, h);
      process.exitCode = code;
    });
}

/** The human form of `writ status`: one line per dependency instead of nested JSON. */
function statusLines(url: string, isReady: boolean, ready: Record<string, unknown>, detailed: Record<string, unknown> | undefined): Record<string, unknown> {
  const lines: Record<string, unknown> = { url, ready: isReady ? 'yes' : `no (${String(ready.status ?? 'not ready')})` };
  const deps = (detailed?.dependencies ?? {}) as Record<string, { status?: string; latency_ms?: number | null }>;
  const checks = (ready.checks ?? {}) as Record<string, unknown>;
  for (const name of new Set([...Object.keys(checks), ...Object.keys(deps)])) {
    if (name === 'projections') continue;
    const d = deps[name];
    const latency = typeof d?.latency_ms === 'number' ? ` (${d.latency_ms.toFixed(1)} ms)` : '';
    lines[name] = `${String(d?.status ?? checks[name])}${latency}`;
  }
  const projections = detailed?.projections as { status?: string; lag?: number; position?: string } | undefined;
  if (projections) lines.projections = `${String(projections.status)} (position ${String(projections.position)}, lag ${String(projections.lag)})`;
  else if (checks.projections !== undefined) lines.projections = checks.projections;
  const ledger = detailed?.ledger as { head_position?: string } | undefined;
  if (ledger?.head_position !== undefined) lines['ledger head'] = ledger.head_position;
  const versions = detailed?.versions as { writ?: string } | undefined;
  if (versions?.writ) lines.version = versions.writ;
  if (typeof detailed?.uptime_seconds === 'number') lines.uptime = `${detailed.uptime_seconds} s`;
  if (!detailed) lines.detail = 'set WRIT_ADMIN_TOKEN for dependency latencies and projection lag';
  return lines;
}
