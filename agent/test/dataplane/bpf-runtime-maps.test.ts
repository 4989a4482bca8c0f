import { join } from "node:path";
import {
  decode,
  encode,
  flowKeyOf,
  FLOW_F_ANOMALY,
  FLOW_F_APP_DENIED,
  FLOW_F_ORIG_A,
  FlowState,
  MAP_NAMES,
  type Flow,
} from "@fos1/dpi/sdk/abi";
import { LAYOUTS } from "@fos1/dpi/sdk/abi/layout";
import { nativeBpf } from "@fos1/dpi/agent/src/bpf/native";
import { monotonicNs, RuntimeMaps } from "@fos1/dpi/agent/src/bpf/runtime-maps";
import { PrivateBpffs } from "./private-bpffs";

const bpffs = new PrivateBpffs("am-rt-");
const pinRoot = bpffs.pinRoot;
const bpf = nativeBpf();
let maps: RuntimeMaps;

beforeAll(() => {
  bpffs.load(bpf);
  maps = RuntimeMaps.open(bpf, pinRoot);
});
afterAll(() => {
  maps?.close();
  bpffs.remove();
});

const pinned = (map: string) => join(pinRoot, map);
const fd = (map: string) => bpf.objGet(pinned(map));
const config = () => decode("config", bpf.lookup(fd(MAP_NAMES.config), Buffer.alloc(4))!);

/** A flow as a program would have written it: counters, next hop, timestamps. */
function programFlow(i: number): Flow {
  const zero = decode("flow", Buffer.alloc(LAYOUTS.flow.size));
  return {
    ...zero,
    state: FlowState.INSPECT,
    flags: FLOW_F_ORIG_A | FLOW_F_ANOMALY,
    mark: 0x20,
    segmentId: 1,
    packets: [BigInt(100 + i), 7n],
    bytes: [BigInt(150_000 + i), 900n],
    firstSeenNs: 1000n,
    lastSeenNs: 2000n,
    offloadDeadlineNs: 5000n,
    nhIfindex: [3, 4],
  };
}

const key = (i: number) =>
  flowKeyOf({ src: `10.10.${i >> 8}.${i & 255}`, dst: "192.0.2.10", sport: 40000 + i, dport: 443, proto: 6 })
    .key;

describe("runtime writers against real pinned maps", () => {
  it("offload rewrites state, app and ANOMALY only, resets the deadline, and never creates a flow", () => {
    const flows = fd(MAP_NAMES.flows);
    const n = 1500; // more than one batch of the patch program (FLOW_PATCH_BATCH.max)
    const keys = Array.from({ length: n }, (_, i) => key(i));
    bpf.updateBatch(
      flows,
      Buffer.concat(keys.map((k) => encode("flowKey", k))),
      Buffer.concat(keys.map((_, i) => encode("flow", programFlow(i)))),
      n,
    );
    const absent = key(250);
    bpf.deleteBatch(flows, encode("flowKey", absent), 1);
    const offloaded = maps.offloadFlows(keys.map((k) => ({ key: k, appId: 7 })));
    expect(offloaded.count).toBe(n - 1);
    expect(offloaded.found[250]).toBe(0);
    expect(offloaded.found[249]).toBe(1);
    expect(bpf.lookup(flows, encode("flowKey", absent))).toBeNull();
    const got = decode("flow", bpf.lookup(flows, encode("flowKey", keys[599]!))!);
    expect(got).toEqual({
      ...programFlow(599),
      state: FlowState.OFFLOADED,
      appId: 7,
      flags: FLOW_F_ORIG_A,
      offloadDeadlineNs: 0n,
    });
    expect(decode("flow", bpf.lookup(flows, encode("flowKey", keys[1100]!))!).state).toBe(
      FlowState.OFFLOADED,
    );
    expect(maps.flowsByState()).toEqual({ inspect: 0, offloaded: n - 1, blocked: 0 });

    expect(maps.returnToInspect([keys[0]!], { anomaly: true }).count).toBe(1);
    expect(decode("flow", bpf.lookup(flows, encode("flowKey", keys[0]!))!)).toMatchObject({
      state: FlowState.INSPECT,
      flags: FLOW_F_ORIG_A | FLOW_F_ANOMALY,
      appId: 7,
      packets: [100n, 7n],
    });
    expect(maps.classifyFlows([{ key: keys[1]!, appId: 9, classId: 18 }]).count).toBe(1);
    expect(decode("flow", bpf.lookup(flows, encode("flowKey", keys[1]!))!)).toMatchObject({
      state: FlowState.OFFLOADED,
      appId: 9,
      classId: 18,
    });
  });

  it("every block write is followed by one block_generation increment; expired blocks are pruned", () => {
    const before = config().blockGeneration;
    const now = monotonicNs();
    expect(
      maps.addBlocks("source", [
        { target: "198.51.100.7", expiresNs: 0n, reason: 3 },
        { target: "2001:db8::7", expiresNs: now - 1n, reason: 4 },
      ]),
    ).toBe(2);
    expect(config().blockGeneration).toBe(before + 1);
    const flow = key(1);
    expect(maps.addBlocks("flow", [{ target: flow, expiresNs: now + 60_000_000_000n, reason: 5 }])).toBe(1);
    expect(config().blockGeneration).toBe(before + 2);
    expect(decode("block", bpf.lookup(fd(MAP_NAMES.blockFlow), encode("flowKey", flow))!)).toEqual({
      expiresNs: now + 60_000_000_000n,
      reason: 5,
    });

    expect(maps.pruneExpiredBlocks(now)).toEqual([
      { scope: "source", target: "2001:db8::7", expiresNs: now - 1n, reason: 4 },
    ]);
    expect(bpf.lookup(fd(MAP_NAMES.blockSrc), encode("addr", { addr: "2001:db8::7" }))).toBeNull();
    expect(bpf.lookup(fd(MAP_NAMES.blockSrc), encode("addr", { addr: "198.51.100.7" }))).not.toBeNull();
    expect(maps.removeBlocks("source", ["198.51.100.7", "198.51.100.8"])).toBe(1);
    expect(config().blockGeneration).toBe(before + 3);
    expect(maps.fillLevels().find((l) => l.map === MAP_NAMES.blockSrc)!.entries).toBe(0);
  });

  it("releasing blocked flows returns those a block stopped, never those the application deny stopped", () => {
    const flows = fd(MAP_NAMES.flows);
    const byBlock = key(5000);
    const byDeny = key(5001);
    const write = (k: typeof byBlock, flags: number) =>
      bpf.updateBatch(
        flows,
        encode("flowKey", k),
        encode("flow", { ...programFlow(0), state: FlowState.BLOCKED, flags }),
        1,
      );
    write(byBlock, FLOW_F_ORIG_A);
    write(byDeny, FLOW_F_ORIG_A | FLOW_F_APP_DENIED);
    const before = config().blockGeneration;
    const asked: string[] = [];
    expect(
      maps.releaseBlockedFlows((k) => {
        asked.push(k.addrA);
        return true;
      }),
    ).toBe(1);
    expect(decode("flow", bpf.lookup(flows, encode("flowKey", byBlock))!).state).toBe(FlowState.INSPECT);
    expect(decode("flow", bpf.lookup(flows, encode("flowKey", byDeny))!).state).toBe(FlowState.BLOCKED);
    expect(asked).toEqual([byBlock.addrA]);
    expect(config().blockGeneration).toBe(before + 1);
    bpf.deleteBatch(flows, Buffer.concat([encode("flowKey", byBlock), encode("flowKey", byDeny)]), 2);
  });

  it("destinations are learned, renewed and expire; the lease moves only its own member", () => {
    const now = monotonicNs();
    expect(
      maps.learnDestinations([
        { addr: "192.0.2.20", appId: 7, expiresNs: now + 1_000_000_000n },
        { addr: "192.0.2.21", appId: 8, expiresNs: now - 1n },
      ]),
    ).toBe(2);
    expect(
      decode("appDest", bpf.lookup(fd(MAP_NAMES.appDest), encode("addr", { addr: "192.0.2.20" }))!),
    ).toEqual({
      appId: 7,
      expiresNs: now + 1_000_000_000n,
    });
    expect(maps.pruneExpiredDestinations(now)).toBe(1);
    expect(maps.forgetDestinations(["192.0.2.20"])).toBe(1);

    const before = config();
    maps.setOffloadLease(now + 5n);
    expect(config()).toEqual({ ...before, offloadLeaseUntilNs: now + 5n });
  });

  it("load sampling writes load_sample_one_in and no other byte of fos1_config", () => {
    const raw = () => bpf.lookup(fd(MAP_NAMES.config), Buffer.alloc(4))!;
    const member = LAYOUTS.config.fields.find((f) => f.c === "load_sample_one_in")!.offset;
    // Every other byte set, so a write outside the member shows.
    const filled = Buffer.alloc(LAYOUTS.config.size, 0xa5);
    filled.writeUInt32LE(0, member);
    bpf.updateBatch(fd(MAP_NAMES.config), Buffer.alloc(4), filled, 1);

    maps.setLoadSampling(16);
    const on = Buffer.from(filled);
    on.writeUInt32LE(16, member);
    expect(raw()).toEqual(on);
    expect(config().loadSampleOneIn).toBe(16);

    maps.setLoadSampling(0);
    expect(raw()).toEqual(filled);
    expect(() => maps.setLoadSampling(2.5)).toThrow(
      "fos1_config.load_sample_one_in: 2.5 is not an integer in 0..4294967295",
    );
    expect(raw()).toEqual(filled);
  });
});
