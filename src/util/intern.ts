// One copy of each string that repeats across a large listing instead of one per entry: most tag
// values (the sync's name, the source address, the mount, the version) and version labels are the
// same for every secret, and at 100,000 secrets their copies were tens of MB of the inventory.

/**
 * A function that returns the first copy it saw of an equal string. It forgets everything after
 * `limit` distinct strings, so values that never repeat (paths, timestamps) cannot grow it.
 */
export type Interner = (value: string) => string;

export function stringInterner(limit = 4096): Interner {
  let seen = new Map<string, string>();
  return (value) => {
    const known = seen.get(value);
    if (known !== undefined) return known;
    if (seen.size >= limit) seen = new Map();
    seen.set(value, value);
    return value;
  };
}
