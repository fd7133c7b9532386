import { Command, CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createContext, type CliContext } from './context.js';
import { CliError } from './http-client.js';
import { registerDirectoryCommands } from './commands/directory-commands.js';
import { registerGrantCommands } from './commands/grant-commands.js';
import { registerPolicySetCommands } from './commands/policy-set-commands.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerOpsCommands } from './commands/ops-commands.js';

/** Exit codes of `writ` (also printed by `writ --help`). */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, integrity: 4 } as const;

const HELP_FOOTER = `
Environment:
  WRIT_URL            server to talk to (default http://127.0.0.1:$WRIT_PORT, port 8080)
  WRIT_ADMIN_TOKEN    admin key (root key: <data dir>/admin-token); zone keys imply their zone
  WRIT_ZONE           default for --zone
  WRIT_CLIENT_ID, WRIT_CLIENT_SECRET, WRIT_SUBJECT_TOKEN   credentials for \`writ run\`
  WRIT_DATA_DIR       local data dir for \`serve\`, \`projections rebuild\`, \`keys rotate\`

Output: --json prints machine-readable JSON on stdout; errors always go to stderr
(as a JSON object {error, error_description, request_id, details} with --json).

Exit codes:
  0  success (\`writ run\`: the command's own exit code)
  1  refused by the server (the error code is printed), or not ready (\`status --ready\`)
  2  bad usage: unknown command or option, missing argument, unreadable input file, no WRIT_ADMIN_TOKEN
  3  server unreachable
  4  integrity failure: \`audit verify\` found a tampered export, \`audit replay\` found mismatches
`;

/**
 * `writ`: the command-line client. It talks to a server at WRIT_URL with WRIT_ADMIN_TOKEN (except `serve`,
 * `projections rebuild`, `keys rotate` and `audit verify`, which work locally). Errors go to stderr with a
 * non-zero exit: 1 refused by the server, 2 bad usage, 3 server unreachable, 4 integrity failure.
 */
export function buildProgram(): Command {
  const program = new Command('writ')
    .description('writ — event-sourced authorization ledger and token-exchange STS')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', HELP_FOOTER);
  const ctx = (cmd: Command): CliContext => createContext(Boolean(cmd.optsWithGlobals().json));
  registerDirectoryCommands(program, ctx);
  registerGrantCommands(program, ctx);
  registerPolicySetCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerOpsCommands(program, ctx);
  return program;
}

/** Whether `--json` was asked for by writ itself (not by the command after `--` of `writ run`). */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = wantsJson(argv);
  process.exitCode = undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    // Help and --version end with exit code 0; every other commander error is a usage error.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof CliError) {
      if (json) process.stderr.write(`${JSON.stringify({ error: err.code, error_description: err.message, request_id: err.requestId, details: err.details })}\n`);
      else process.stderr.write(`writ: ${err.message}${err.requestId ? ` (request_id ${err.requestId})` : ''}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (json) process.stderr.write(`${JSON.stringify({ error: 'cli_error', error_description: message })}\n`);
    else process.stderr.write(`writ: ${message}\n`);
    return EXIT.refused;
  } finally {
    process.exitCode = undefined;
  }
}

function isMainModule(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(fileURLToPath(import.meta.url)) === realpathSync(resolve(process.argv[1]));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  const argv = process.argv.slice(2);
  runCli(argv).then((code) => {
    // A started `serve` keeps running (it exits on SIGINT/SIGTERM); everything else exits with its code.
    if (argv[0] !== 'serve' || code !== 0) process.exit(code);
  });
}
