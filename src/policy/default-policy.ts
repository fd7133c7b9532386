import { readFile } from 'node:fs/promises';

/**
 * The built-in default policy-set version every new zone starts on: policy/default/authz.rego compiled by
 * `npm run policy:build-default` (scripts/build-default-policy.ts) and committed, so a server needs no opa CLI.
 * test/policy/default-bundle-staleness.test.ts fails when the committed bundle no longer matches the Rego.
 */

/** Where the committed bundle lives, relative to this module. */
export const DEFAULT_BUNDLE_URL = new URL('./default-bundle/bundle.tar.gz', import.meta.url);

/** Candidate locations: next to this module (tsx, src), then back in src/ when running from dist/src/policy. */
const CANDIDATES = [DEFAULT_BUNDLE_URL, new URL('../../../src/policy/default-bundle/bundle.tar.gz', import.meta.url)];

/** The default policy's OPA wasm bundle (gzip tarball) bytes. */
export async function loadDefaultBundle(): Promise<Uint8Array> {
  let firstError: unknown;
  for (const url of CANDIDATES) {
    try {
      return new Uint8Array(await readFile(url));
    } catch (err) {
      firstError ??= err;
    }
  }
  throw new Error(`the default policy bundle is missing (${DEFAULT_BUNDLE_URL.pathname}); run npm run policy:build-default`, {
    cause: firstError,
  });
}
