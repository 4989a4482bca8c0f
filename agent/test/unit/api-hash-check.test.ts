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
    const verdicts = await Promise.all([hashes.check(body(qos)), hashes.check(body(edited))]);
    expect(verdicts).toEqual([true, false]);
  });

  it("hashes the program as the server validates it: a prefix the schema normalises is hashed normalised", async () => {
    // The schema writes a bare address as a host prefix; the compiler hashes what it emitted, normalised.
    const sensor = program("sensor-x", {
      runtime: { sensor: { engines: ["ndpi"], selectPrefixes: ["10.0.0.1/32"] } },
    });
    const bare = structuredClone(sensor);
    bare.spec.runtime.sensor!.selectPrefixes = ["10.0.0.1"];
    expect(await hashes.check(body(bare))).toBe(true);
    const hashedBare = { ...bare, hash: programHash(bare.metadata, bare.spec) };
    expect(await hashes.check(body(hashedBare))).toBe(false);
  });

  it("has no verdict on a body that is not a valid program", async () => {
    await expect(hashes.check(Buffer.from("{not json"))).rejects.toThrow(/no valid program/);
    await expect(hashes.check(body({ ...qos, kind: "Other" }))).rejects.toThrow(/no valid program/);
  });

  it("refuses checks once closed", async () => {
    const closed = new HashCheck();
    await closed.close();
    await expect(closed.check(body(qos))).rejects.toThrow(/closed/);
  });
});
