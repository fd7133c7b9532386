/** Shared test values that satisfy the event schemas. */
export const T0 = '2025-01-01T00:00:00Z';
export const T1 = '2025-01-01T00:01:00Z';
export const T2 = '2025-01-01T00:02:00Z';
export const T3 = '2025-01-01T00:03:00Z';

export const ZONE = 'zone_1';
export const OTHER_ZONE = 'zone_2';

export const SALT = 'salt-0123456789abcdef';
export const HASH = 'a'.repeat(64);
export const DIGEST_A = 'a'.repeat(64);
export const DIGEST_B = 'b'.repeat(64);
export const DIGEST_C = 'c'.repeat(64);
export const BUNDLE = 'H4sIAAAAAAAA/wMAAAAAAAAAAAA=';
export const ENTRYPOINTS = ['writ/authz/result'];
