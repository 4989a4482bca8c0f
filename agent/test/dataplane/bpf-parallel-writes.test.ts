import { encode, lpmPrefix, MAP_NAMES } from "@fos1/dpi/sdk/abi";
import { nativeBpf } from "@fos1/dpi/agent/src/bpf/native";
import { PinnedMap, UPDATE } from "@fos1/dpi/agent/src/bpf/pinned-map";
import { PrivateBpffs } from "./private-bpffs";

const bpffs = new PrivateBpffs("am-pw-");
const bpf = nativeBpf();
const LPM = [MAP_NAMES.segments, MAP_NAMES.critical, MAP_NAMES.watch, MAP_NAMES.inspectSelect] as const;
let maps: PinnedMap[];

beforeAll(() => {
  bpffs.load(bpf);
  maps = LPM.map((name) => PinnedMap.open(bpf, bpffs.pinRoot, name, { key: 20, value: 4 }));
});
afterAll(() => {
  for (const m of maps ?? []) m.close();
  bpffs.remove();
});

/** `n` /32 prefixes of map `m` (distinct per map) and values m*1e6 + i. */
function entries(m: number, n: number) {
  const keys = Buffer.concat(
    Array.from({ length: n }, (_, i) =>
      encode("lpmKey", lpmPrefix(`10.${m}.${(i >> 8) & 255}.${i & 255}/32`)),
    ),
  );
  const values = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) values.writeUInt32LE(m * 1_000_000 + i, 4 * i);
  return { keys, values, count: n };
}

describe("PinnedMap.upsertBatches: several maps written at once", () => {
  it("writes every map's entries, each with its own values", () => {
    const batches = maps.map((map, m) => ({ map, ...entries(m, 3000) }));
    expect(PinnedMap.upsertBatches(bpf, batches)).toBe(4 * 3000);
    for (const [m, map] of maps.entries()) {
      const dump = map.dump();
      expect(dump.count).toBe(3000);
      const { keys, values } = entries(m, 3000);
      for (const i of [0, 1499, 2999]) {
        const value = bpf.lookup(map.fd, keys.subarray(20 * i, 20 * i + 20));
        expect(value?.equals(values.subarray(4 * i, 4 * i + 4))).toBe(true);
      }
    }
  });

  it("names the map whose write failed, with the kernel's reason", () => {
    const existing = entries(2, 10);
    // NOEXIST on keys the previous case wrote: the third map refuses.
    const batches = maps.map((map, m) => ({ map, ...(m === 2 ? existing : entries(m + 10, 10)) }));
    let thrown: unknown;
    try {
      PinnedMap.upsertBatches(bpf, batches, UPDATE.NOEXIST);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: "EEXIST", failedAt: 2 });
    expect((thrown as Error).message).toMatch(new RegExp(`^${LPM[2]}: map update: File exists`));
    // The other maps were written: their keys are there now.
    expect(() => PinnedMap.upsertBatches(bpf, [batches[0]!], UPDATE.NOEXIST)).toThrow(/File exists/);
  });

  it("refuses buffers shorter than count entries before writing any map", () => {
    const before = maps.map((m) => m.dump().count);
    const short = entries(30, 5);
    expect(() =>
      bpf.updateBatches([
        [maps[0]!.fd, entries(31, 5).keys, entries(31, 5).values, 5],
        [maps[1]!.fd, short.keys, short.values, 6],
      ]),
    ).toThrow(/buffers do not hold/);
    expect(maps.map((m) => m.dump().count)).toEqual(before);
  });
});
