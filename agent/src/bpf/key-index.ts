/** True when `a` from `at` and `b` from `bt` hold the same `size` bytes; a loop beats a native call at 4-20 bytes. */
export function sameBytes(a: Buffer, at: number, b: Buffer, bt: number, size: number): boolean {
  for (let i = 0; i < size; i++) if (a[at + i] !== b[bt + i]) return false;
  return true;
}

/** FNV-1a of `size` bytes. */
function hashBytes(bytes: Buffer, at: number, size: number): number {
  let h = 0x811c9dc5;
  for (let i = at; i < at + size; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * The slots of fixed-size keys that lie back to back in one buffer, found by
 * their bytes. An open-addressing table of slot numbers: a map of 100k keys
 * needs neither a string nor an object per key.
 */
export class KeyIndex {
  private readonly table: Int32Array;
  private readonly mask: number;

  /** `capacity`: the most slots that will be inserted; `table`: one `adopt` vouches for, in place of an empty one. */
  constructor(
    private readonly keys: Buffer,
    private readonly size: number,
    capacity: number,
    table?: Int32Array,
  ) {
    let length = 8;
    while (length < capacity * 2) length *= 2;
    this.table = table ?? new Int32Array(length).fill(-1);
    this.mask = this.table.length - 1;
  }

  /** An index of the first `count` keys of `keys`, each distinct (a map dump). */
  static of(keys: Buffer, size: number, count: number): KeyIndex {
    const index = new KeyIndex(keys, size, count);
    for (let slot = 0; slot < count; slot++) index.insert(slot);
    return index;
  }

  /**
   * The index of `keys` whose table was built elsewhere (the native body
   * reader) by the same length, hash and probing, over keys that are each
   * there once.
   */
  static adopt(keys: Buffer, size: number, table: Int32Array): KeyIndex {
    if (table.length < 8 || (table.length & (table.length - 1)) !== 0) {
      throw new Error(`a key index table of ${table.length} slots: not a power of two from 8`);
    }
    return new KeyIndex(keys, size, 0, table);
  }

  /** The slot whose key is the `size` bytes of `bytes` at `at`, or -1. */
  find(bytes: Buffer, at: number): number {
    const { table, mask, keys, size } = this;
    for (let i = hashBytes(bytes, at, size) & mask; ; i = (i + 1) & mask) {
      const slot = table[i]!;
      if (slot < 0 || sameBytes(keys, slot * size, bytes, at, size)) return slot;
    }
  }

  /** Indexes `slot`, whose key is already in place; if an earlier slot has the same key, returns that slot instead. */
  insert(slot: number): number {
    const { table, mask, keys, size } = this;
    const at = slot * size;
    for (let i = hashBytes(keys, at, size) & mask; ; i = (i + 1) & mask) {
      const held = table[i]!;
      if (held < 0) {
        table[i] = slot;
        return slot;
      }
      if (sameBytes(keys, held * size, keys, at, size)) return held;
    }
  }
}
