/**
 * Freezes an object graph in place and returns it. The config is shared by every
 * module for the life of the process (and swapped whole on reload), so nothing
 * may mutate a piece of it behind the others' backs.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) {
    deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}
