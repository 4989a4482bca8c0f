import { HashCheck } from "@fos1/dpi/agent/src/api/hash-check";
import { programHash } from "@fos1/dpi/sdk/compile";
import { goldenProgram, program } from "./fixtures/programs";
import { eventually } from "./fixtures/test-agent";

const qos = goldenProgram("qos-default-qos-policy");
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("HashCheck", () => {
  const hashes = new HashCheck();
  // A body goes to the worker only once it has loaded and is free.
  const free = () =>
    eventually(async () => {
      const probe = hashes.check(Buffer.from("{}"));
      await probe.matches.catch(() => undefined);
      return probe.underway();
    });
  beforeEach(() => free());
  afterAll(() => hashes.close());

  it("says whether a body's program hash matches its content", async () => {
    const edited = structuredClone(qos);
    edited.spec.tc[0]!.classes[0]!.ceilBps = 1_000_000_000;
    expect(await hashes.check(body(qos)).matches).toBe(true);
    await free();
    expect(await hashes.check(body(edited)).matches).toBe(false);
  });

  it("hashes the program as the server validates it: a prefix the schema normalises is hashed normalised", async () => {
    // The schema writes a bare address as a host prefix; the compiler hashes what it emitted, normalised.
    const sensor = program("sensor-x", {
      runtime: { sensor: { engines: ["ndpi"], selectPrefixes: ["10.0.0.1/32"] } },
    });
    const bare = structuredClone(sensor);
    bare.spec.runtime.sensor!.selectPrefixes = ["10.0.0.1"];
    expect(await hashes.check(body(bare)).matches).toBe(true);
    await free();
    const hashedBare = { ...bare, hash: programHash(bare.metadata, bare.spec) };
    expect(await hashes.check(body(hashedBare)).matches).toBe(false);
  });

  it("has no verdict on a body that is not a valid program", async () => {
    await expect(hashes.check(Buffer.from("{not json")).matches).rejects.toThrow(/no valid program/);
    await free();
    await expect(hashes.check(body({ ...qos, kind: "Other" })).matches).rejects.toThrow(/no valid program/);
  });

  it("is underway only when its worker had loaded and was idle when the body was sent", async () => {
    const fresh = new HashCheck();
    try {
      const early = fresh.check(body(qos));
      expect(early.underway()).toBe(false);
      await expect(early.matches).rejects.toThrow(/not free/);
      await eventually(async () => {
        const probe = fresh.check(Buffer.from("{}"));
        await probe.matches.catch(() => undefined);
        return probe.underway();
      });
      const first = fresh.check(body(qos));
      const second = fresh.check(body(qos));
      expect([first.underway(), second.underway()]).toEqual([true, false]);
      expect(await first.matches).toBe(true);
      await expect(second.matches).rejects.toThrow(/not free/);
    } finally {
      await fresh.close();
    }
  });

  it("refuses checks once closed", async () => {
    const closed = new HashCheck();
    await closed.close();
    await expect(closed.check(body(qos)).matches).rejects.toThrow(/closed/);
  });
});
