/**
 * Long fuzz run: the properties of test/fuzz/*.test.ts (admin, STS, concurrent STS batches, audit, raw paths)
 * with many more runs.
 *
 *   npx tsx scripts/fuzz-long.ts [numRuns=10000] [--seed N] [--only admin,sts,sts-concurrent,audit,traceable-request-ids,raw-path] [--no-shrink]
 *
 * `sts-concurrent` runs numRuns/10 batches (2-12 concurrent exchanges each), `traceable-request-ids` numRuns/20.
 *
 * Every property runs against its own fresh writ (SQLite ledger in a temp dir, seeded over HTTP) so a property
 * that changes state (admin writes, revocations) cannot starve another of coverage. Prints one JSON summary on
 * stdout: per property the runs, time, status/error-code counts and, when it failed, the shrunk counterexample's
 * violations and the seed/path that replays it (FUZZ_SEED / FUZZ_PATH with `npx vitest run test/fuzz`).
 * Exit code 1 when any property failed.
 */
import { startFuzzWorld } from '../test/fuzz/fuzz-support.js';
import { PROPERTIES, runProperty, type PropertyResult } from '../test/fuzz/requests.js';

function parseArgs(argv: string[]): { numRuns: number; seed: number; only: string[] | null; shrink: boolean } {
  let numRuns = 10_000;
  let seed = Date.now() % 2 ** 31;
  let only: string[] | null = null;
  let shrink = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--only') only = argv[++i]!.split(',');
    else if (a === '--no-shrink') shrink = false;
    else if (/^\d+$/.test(a)) numRuns = Number(a);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isSafeInteger(numRuns) || numRuns <= 0) throw new Error('numRuns must be a positive integer');
  if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');
  return { numRuns, seed, only, shrink };
}

async function main(): Promise<void> {
  const { numRuns, seed, only, shrink } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const results: PropertyResult[] = [];
  for (const def of PROPERTIES) {
    if (only && !only.includes(def.name)) continue;
    const world = await startFuzzWorld();
    try {
      const runs = Math.max(1, Math.round(numRuns * (def.runsScale ?? 1)));
      process.stderr.write(`fuzz-long: ${def.name}: ${runs} runs, seed ${seed}...\n`);
      const result = await runProperty(world, def, { numRuns: runs, seed, shrink });
      process.stderr.write(`fuzz-long: ${def.name}: ${result.failed ? 'FAILED' : 'ok'} after ${result.numRuns} runs in ${result.ms} ms\n`);
      results.push(result);
    } finally {
      await world.close();
    }
  }
  const summary = {
    ok: results.every((r) => !r.failed),
    num_runs: numRuns,
    seed,
    elapsed_ms: Date.now() - started,
    properties: results.map((r) => ({
      name: r.name,
      ok: !r.failed,
      runs: r.numRuns,
      ms: r.ms,
      ...(r.failed ? { seed: r.seed, path: r.path, violations: r.message?.split('\n') } : {}),
      responses: r.stats.toJSON(),
    })),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.exitCode = summary.ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
