// Storage that never throws: localStorage when the browser lets us use it,
// memory when it does not (blocked in private modes or with cookies disabled,
// full, or failing in any other way). Every access is wrapped: browsers throw
// from the `localStorage` getter itself as well as from setItem.

export const PREFIX = 'vitrina:';

export function openStorage() {
  let ls = null;
  let why = '';
  try {
    ls = window.localStorage;
    ls.setItem(PREFIX + 'probe', '1');
    ls.removeItem(PREFIX + 'probe');
  } catch (e) {
    ls = null;
    why = 'localStorage is not available';
  }
  const mem = new Map();
  return {
    get(k) {
      k = PREFIX + k;
      if (mem.has(k)) return mem.get(k);
      try {
        return ls ? ls.getItem(k) : null;
      } catch (e) {
        return null;
      }
    },
    /** Writes a value; on failure (quota) keeps it in memory and returns false. */
    set(k, v) {
      k = PREFIX + k;
      if (ls) {
        try {
          ls.setItem(k, v);
          mem.delete(k);
          return true;
        } catch (e) {
          why = 'localStorage is full';
        }
      }
      mem.set(k, v);
      return false;
    },
    remove(k) {
      k = PREFIX + k;
      mem.delete(k);
      try {
        if (ls) ls.removeItem(k);
      } catch (e) {}
    },
    /** Vitrina's keys (without the prefix). */
    keys() {
      const all = new Set(mem.keys());
      try {
        for (let i = 0; ls && i < ls.length; i++) all.add(ls.key(i));
      } catch (e) {}
      return [...all].filter((k) => k && k.startsWith(PREFIX)).map((k) => k.slice(PREFIX.length));
    },
    /** Removes every key Vitrina wrote, whatever its name. */
    clear() {
      for (const k of this.keys()) this.remove(k);
    },
    persistent: () => !!ls && !why,
    why: () => why,
  };
}
