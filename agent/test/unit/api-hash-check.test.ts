import { HashCheck } from "@fos1/dpi/agent/src/api/hash-check";
import { programHash } from "@fos1/dpi/sdk/compile";
import { goldenProgram, program } from "./fixtures/programs";

const qos = goldenProgram("qos-default-qos-policy");
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("HashCheck", () => {
  const hashes = new HashCheck();
  afterAll(() => hashes.close());

  it("says whether a body's program hash matches its content", async () => {
    const edited = structuredClone(qos);
    edited.spec.tc[0]!.classes[0]!.ceilBps = 1_000_000_000;
    const verdicts = await Promise.all([hashes.check(body(qos)).matches, hashes.check(body(edited)).matches]);
    expect(verdicts).toEqual([true, false]);
  });

  it("hashes the program as the server validates it: a prefix the schema normalises is hashed normalised", async () => {
    // The schema writes a bare address as a host prefix; the compiler hashes what it emitted, normalised.
    const sensor = program("sensor-x", {
      runtime: { sensor: { engines: ["ndpi"], selectPrefixes: ["10.0.0.1/32"] } },
    });
    const bare = structuredClone(sensor);
    bare.spec.runtime.sensor!.selectPrefixes = ["10.0.0.1"];
    expect(await hashes.check(body(bare)).matches).toBe(true);
    const hashedBare = { ...bare, hash: programHash(bare.metadata, bare.spec) };
    expect(await hashes.check(body(hashedBare)).matches).toBe(false);
  });

  it("has no verdict on a body that is not a valid program", async () => {
    await expect(hashes.check(Buffer.from("{not json")).matches).rejects.toThrow(/no valid program/);
    await expect(hashes.check(body({ ...qos, kind: "Other" })).matches).rejects.toThrow(/no valid program/);
  });

  it("is underway only when its worker had loaded and was idle when the body was sent", async () => {
    const fresh = new HashCheck();
    try {
      const early = fresh.check(body(qos));
      expect(early.underway()).toBe(false);
      expect(await early.matches).toBe(true);
      const first = fresh.check(body(qos));
      const second = fresh.check(body(qos));
      expect([first.underway(), second.underway()]).toEqual([true, false]);
      expect(await Promise.all([first.matches, second.matches])).toEqual([true, true]);
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
