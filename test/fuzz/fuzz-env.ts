/**
 * Run sizes and seeds of the fuzz suites. Defaults keep each property to a few seconds; FUZZ_RUNS, FUZZ_SEED
 * and FUZZ_PATH (printed by a failure) replay or widen a run:
 *
 *   FUZZ_SEED=… FUZZ_PATH=… npx vitest run test/fuzz/sts-input.test.ts
 */
export function fuzzOptions(defaultRuns: number, defaultSeed: number): { numRuns: number; seed: number; path?: string } {
  const runs = Number(process.env.FUZZ_RUNS ?? defaultRuns);
  const seed = Number(process.env.FUZZ_SEED ?? defaultSeed);
  const path = process.env.FUZZ_PATH;
  return { numRuns: runs, seed, ...(path ? { path } : {}) };
}
