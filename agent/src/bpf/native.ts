import { existsSync } from "node:fs";
import { join } from "node:path";

/** A map as the kernel describes it. */
export interface MapInfo {
  readonly id: number;
  /** enum bpf_map_type */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly name: string;
  /** Per-CPU maps hold one value slot per possible CPU. */
  readonly possibleCpus: number;
}

/** Every entry of a map: `count` keys and values back to back. */
export interface MapDump {
  readonly keys: Buffer;
  readonly values: Buffer;
  readonly count: number;
}

/** `count` keys and values back to back, for the map open as `fd`. */
export type BatchWrite = readonly [fd: number, keys: Buffer, values: Buffer, count: number];

/**
 * The libbpf addon (agent/native/fos1_bpf.c, with canonical_maps.c). Calls
 * are synchronous: a read-modify-write made in one call cannot interleave
 * with another writer of this process. Failures throw an Error whose `code`
 * is the errno name.
 */
export interface NativeBpf {
  objGet(path: string): number;
  close(fd: number): void;
  mapInfo(fd: number): MapInfo;
  progInfo(fd: number): { readonly id: number; readonly name: string };
  /** Writes `count` entries; `flags` is BPF_ANY (0), BPF_NOEXIST (1) or BPF_EXIST (2). */
  updateBatch(fd: number, keys: Buffer, values: Buffer, count: number, flags?: number): number;
  /**
   * Writes several maps at once, on as many threads as there are CPUs, each
   * as `updateBatch` would; returns the entries written. A failure throws for
   * the first failed map (its index in `failedAt`), the others written or not.
   */
  updateBatches(maps: readonly BatchWrite[], flags?: number): number;
  /** Deletes `count` keys; absent keys are skipped. Returns how many existed. */
  deleteBatch(fd: number, keys: Buffer, count: number): number;
  lookup(fd: number, key: Buffer): Buffer | null;
  dump(fd: number): MapDump;
  /** Per key: value = (old & ~mask) | (patch & mask), only where the key exists. Returns 1/0 per key. */
  rmw(fd: number, keys: Buffer, patches: Buffer, count: number, mask: Buffer): Buffer;
  /** 0 when this network namespace has no such interface. */
  ifIndex(name: string): number;
  loadObject(
    objectsDir: string,
    file: string,
    pinRoot: string,
    progPin: string,
  ): { readonly id: number; readonly name: string };
  /** The program id attached as fos1's tc filter on that hook, 0 when none. */
  tcQuery(ifindex: number, egress: 0 | 1): number;
  /** Attaches (or atomically replaces) fos1's tc filter; creates clsact when missing. Returns the program id. */
  tcAttach(ifindex: number, egress: 0 | 1, progFd: number): number;
  /** BPF_PROG_TEST_RUN of a program on one packet (at most 2048 bytes) against the live maps. */
  progTestRun(progFd: number, packet: Buffer): { readonly retval: number; readonly packet: Buffer };
  /** BPF_PROG_RUN of a syscall program (no context) against the live maps; its return value. */
  progRun(progFd: number): number;
  /** agent/native/canonical_maps.c: canonical policy maps read from `body` at `from`; null when it declines. */
  readCanonicalMaps(body: Buffer, from: number, grammar: Buffer): NativeCanonicalMaps | null;
}

/**
 * What the native reader read: per map (in body order) its grammar index,
 * entry count, keys, values and KeyIndex table (null when a key is there
 * twice or a prefix is left to the caller); and those prefixes, as
 * [map, offset into that map's keys, start in the body, length].
 */
export interface NativeCanonicalMaps {
  readonly end: number;
  readonly maps: readonly (readonly [
    grammar: number,
    count: number,
    keys: Buffer,
    values: Buffer,
    index: Int32Array | null,
  ])[];
  readonly pending: readonly (readonly [map: number, offset: number, start: number, length: number])[];
}

const ADDON = join("native", "build", "Release", "fos1_bpf.node");

/** Where the addon is built: agent/native, seen from agent/src/bpf and from agent/dist/agent/src/bpf. */
const CANDIDATES = [join(__dirname, "..", "..", ADDON), join(__dirname, "..", "..", "..", "..", ADDON)];

let loaded: NativeBpf | undefined;

/** The addon, loaded on first use; a missing build is an error that says how to build it. */
export function nativeBpf(): NativeBpf {
  if (loaded) return loaded;
  const path = CANDIDATES.find((p) => existsSync(p));
  if (!path) {
    throw new Error(
      `the libbpf addon is not built (looked for ${CANDIDATES.join(", ")}): run npm run build:native -w @fos1/dpi-agent`,
    );
  }
  loaded = require(path) as NativeBpf;
  return loaded;
}

/** True when the error is the kernel's "no such file or entry". */
export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
