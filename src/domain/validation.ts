import { z } from 'zod';

/** `resource://<slug>`: lowercase letters, digits, dots, dashes, underscores; slug up to 200 characters. */
export const RESOURCE_IDENTIFIER = /^resource:\/\/[a-z0-9][a-z0-9._-]{0,199}$/;
/** Scope grammar shared by resources, grants, token requests and mandates. */
export const SCOPE = /^[a-z0-9:_./-]{1,200}$/;
/** Request IDs: inbound X-Request-ID must match this to be used. */
// Dot-only ids ('.', '..') are refused: URL normalisation would make their audit paths unreachable.
export const REQUEST_ID = /^(?!\.+$)[A-Za-z0-9._:-]{1,128}$/;

export const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/);
export const Time = z.string().datetime({ offset: false });
export const Scope = z.string().regex(SCOPE);
export const Scopes = z.array(Scope).min(1).max(200);
export const ResourceIdentifier = z.string().regex(RESOURCE_IDENTIFIER);
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
export const Name = z.string().min(1).max(200);

export function isScope(s: string): boolean {
  return SCOPE.test(s);
}
export function isResourceIdentifier(s: string): boolean {
  return RESOURCE_IDENTIFIER.test(s);
}
