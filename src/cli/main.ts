import { Command, CommanderError } from 'commander';
import { createContext, type CliContext } from './context.js';
import { CliError } from './http-client.js';
import { registerDirectoryCommands } from './commands/directory-commands.js';
import { registerGrantCommands } from './commands/grant-commands.js';
import { registerPolicySetCommands } from './commands/policy-set-commands.js';
import { registerAuditCommands } from './commands/audit-commands.js';
import { registerOpsCommands } from './commands/ops-commands.js';

/**
 * `writ`: the command-line client. It talks to a server at WRIT_URL with WRIT_ADMIN_TOKEN (except `serve`,
 * `projections rebuild`, `keys rotate` and `audit verify`, which work locally). Errors go to stderr with a
 * non-zero exit: 1 refused by the server, 2 bad usage, 3 server unreachable, 4 integrity failure.
 */
export function buildProgram(): Command {
  const program = new Command('writ')
    .description('writ — event-sourced authorization ledger and token-exchange STS')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  const ctx = (cmd: Command): CliContext => createContext(Boolean(cmd.optsWithGlobals().json));
  registerDirectoryCommands(program, ctx);
  registerGrantCommands(program, ctx);
  registerPolicySetCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerOpsCommands(program, ctx);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliError) {
      if (json) process.stderr.write(`${JSON.stringify({ error: err.code, error_description: err.message, request_id: err.requestId, details: err.details })}\n`);
      else process.stderr.write(`writ: ${err.message}${err.requestId ? ` (request_id ${err.requestId})` : ''}\n`);
      return err.exitCode;
    }
    process.stderr.write(`writ: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runCli(process.argv.slice(2)).then((code) => {
    // `serve` keeps running; everything else exits with its code.
    if (process.argv[2] !== 'serve') process.exit(code);
  });
}
