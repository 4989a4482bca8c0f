import { join } from "node:path";
import type { MapName } from "../../../sdk/abi/constants";
import type { MapDump, MapInfo, NativeBpf } from "./native";

/** BPF_MAP_UPDATE flags. */
export const UPDATE = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

/** One entry of a map, as the kernel stores it. */
export interface RawEntry {
  readonly key: Buffer;
  readonly value: Buffer;
}

/**
 * A map pinned under the agent's pin root, opened once and kept open. Its key
 * and value sizes are checked against the sdk/abi layouts when opened, so a
 * pinned map of an older fos1.h is refused instead of written with the wrong
 * layout.
 */
export class PinnedMap {
  private constructor(
    private readonly bpf: NativeBpf,
    readonly name: MapName,
    readonly fd: number,
    readonly info: MapInfo,
  ) {}

  static open(
    bpf: NativeBpf,
    pinRoot: string,
    name: MapName,
    sizes: { readonly key: number; readonly value: number },
  ): PinnedMap {
    const fd = bpf.objGet(join(pinRoot, name));
    const info = bpf.mapInfo(fd);
    if (info.keySize !== sizes.key || info.valueSize !== sizes.value) {
      bpf.close(fd);
      throw new Error(
        `${join(pinRoot, name)}: key/value of ${info.keySize}/${info.valueSize} bytes, ` +
          `this agent's fos1.h says ${sizes.key}/${sizes.value}: remove the old pins to upgrade`,
      );
    }
    return new PinnedMap(bpf, name, fd, info);
  }

  /** Writes the entries with as few syscalls as the map type allows. Returns how many were written. */
  upsert(entries: readonly RawEntry[], flags: number = UPDATE.ANY): number {
    if (entries.length === 0) return 0;
    const keys = Buffer.concat(entries.map((e) => e.key));
    const values = Buffer.concat(entries.map((e) => e.value));
    return this.bpf.updateBatch(this.fd, keys, values, entries.length, flags);
  }

  /** Writes `count` keys and values given back to back. */
  upsertBatch(keys: Buffer, values: Buffer, count: number, flags: number = UPDATE.ANY): number {
    return count === 0 ? 0 : this.bpf.updateBatch(this.fd, keys, values, count, flags);
  }

  /** Writes each map's `count` keys and values at once, every map on a thread of its own up to the CPUs. */
  static upsertBatches(
    bpf: NativeBpf,
    writes: readonly { map: PinnedMap; keys: Buffer; values: Buffer; count: number }[],
    flags: number = UPDATE.ANY,
  ): number {
    const some = writes.filter((w) => w.count > 0);
    if (some.length === 0) return 0;
    try {
      return bpf.updateBatches(
        some.map((w) => [w.map.fd, w.keys, w.values, w.count] as const),
        flags,
      );
    } catch (error) {
      const at = (error as { failedAt?: number }).failedAt;
      if (at !== undefined) (error as Error).message = `${some[at]!.map.name}: ${(error as Error).message}`;
      throw error;
    }
  }

  /** Deletes `count` keys given back to back; returns how many existed. */
  deleteBatch(keys: Buffer, count: number): number {
    return count === 0 ? 0 : this.bpf.deleteBatch(this.fd, keys, count);
  }

  /** Deletes the keys; returns how many existed. */
  delete(keys: readonly Buffer[]): number {
    if (keys.length === 0) return 0;
    return this.bpf.deleteBatch(this.fd, Buffer.concat(keys), keys.length);
  }

  lookup(key: Buffer): Buffer | undefined {
    return this.bpf.lookup(this.fd, key) ?? undefined;
  }

  /** Every entry, read in batches of thousands. */
  dump(): MapDump {
    return this.bpf.dump(this.fd);
  }

  /** The entries of a dump as separate key/value views (no copy). */
  entries(dump: MapDump = this.dump()): RawEntry[] {
    const ks = this.info.keySize;
    const vs = dump.count === 0 ? 0 : dump.values.length / dump.count;
    return Array.from({ length: dump.count }, (_, i) => ({
      key: dump.keys.subarray(i * ks, (i + 1) * ks),
      value: dump.values.subarray(i * vs, (i + 1) * vs),
    }));
  }

  /**
   * Read-modify-write of existing entries: the bytes under `mask` come from
   * each entry's patch (keys and patches back to back), the rest stay as the
   * kernel had them. Returns one byte per key: 1 where the entry existed and
   * was rewritten.
   */
  patch(keys: Buffer, patches: Buffer, count: number, mask: Buffer): Buffer {
    return count === 0 ? Buffer.alloc(0) : this.bpf.rmw(this.fd, keys, patches, count, mask);
  }

  close(): void {
    this.bpf.close(this.fd);
  }
}
