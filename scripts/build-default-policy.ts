/**
 * Rebuilds src/policy/default-bundle/bundle.tar.gz from policy/default/*.rego with the pinned opa CLI.
 * Run after editing the default policy: `npm run policy:build-default`. The bundle is committed so servers
 * run without the CLI; a test fails when it is stale.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_BUNDLE_URL } from '../src/policy/default-policy.js';
import { compileRego, type CompiledPolicy } from '../src/policy/rego-compiler.js';

/** Directory of the default policy's Rego sources. */
export const DEFAULT_POLICY_DIR = new URL('../policy/default/', import.meta.url);

/** Compile the default policy's Rego (without writing anything). */
export async function compileDefaultPolicy(): Promise<CompiledPolicy> {
  const modules: Record<string, string> = {};
  for (const name of (await readdir(DEFAULT_POLICY_DIR)).sort()) {
    if (name.endsWith('.rego') && !name.endsWith('_test.rego')) {
      modules[name] = await readFile(new URL(name, DEFAULT_POLICY_DIR), 'utf8');
    }
  }
  return compileRego({ modules });
}

async function main(): Promise<void> {
  const compiled = await compileDefaultPolicy();
  await writeFile(DEFAULT_BUNDLE_URL, compiled.bundle);
  console.log(
    JSON.stringify({
      written: fileURLToPath(DEFAULT_BUNDLE_URL),
      bytes: compiled.bundle.byteLength,
      digest: compiled.digest,
      entrypoints: compiled.entrypoints,
      builtins: compiled.builtins,
      abi: compiled.abiVersion,
    }),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
