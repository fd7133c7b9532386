/**
 * Read models hand their stored records out directly instead of copying them on every query (the STS queries
 * on every token exchange). That is only safe if the records cannot be changed through those references, so
 * every stored record is deeply frozen and an update replaces the record rather than mutating it.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
