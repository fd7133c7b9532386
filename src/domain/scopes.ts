import { isScope } from './validation.js';

/** Scopes are sets: drop repeats, keep first-seen order so recorded events stay readable. */
export function uniqueScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)];
}

/** Scopes that break the scope grammar (each listed once). */
export function invalidScopes(scopes: readonly string[]): string[] {
  return uniqueScopes(scopes.filter((s) => !isScope(s)));
}

/** Scopes of `scopes` that are not in `allowed` (each listed once). */
export function scopesOutside(scopes: readonly string[], allowed: Iterable<string>): string[] {
  const set = allowed instanceof Set ? (allowed as Set<string>) : new Set(allowed);
  return uniqueScopes(scopes.filter((s) => !set.has(s)));
}
