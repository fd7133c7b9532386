import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config.js';
import { createWrit } from './main.js';
import { buildApp } from './api/app.js';

/** `npm start` / `writ serve`: wire the runtime, listen, and shut down cleanly on SIGINT/SIGTERM. */
export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  const writ = await createWrit(config);
  const app = await buildApp(writ, {
    logger: {
      level: config.logLevel,
      // Never log credentials: headers that carry them are redacted wholesale.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'req.body'],
    },
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await writ.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const address = await app.listen({ port: config.port, host: config.host });
  app.log.info({ address, data_dir: config.dataDir, ledger: config.eventstore ?? 'sqlite' }, 'writ listening');
  if (writ.rootTokenGenerated) {
    // The token itself is never logged; only where to find it.
    app.log.warn({ path: writ.rootTokenPath }, 'generated a root admin key (shown once in the file, mode 0600)');
  }
}

/** True when this module is the process entry (`tsx src/server.ts`), whatever symlinks or spaces the path has. */
function isEntry(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(fileURLToPath(import.meta.url)) === realpathSync(resolve(process.argv[1]));
  } catch {
    return false;
  }
}

if (isEntry()) {
  serve().catch((err) => {
    console.error(`writ: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
