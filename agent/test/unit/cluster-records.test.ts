import { ValidationError } from "../../../sdk/schema/problem";
import {
  blockRecordOf,
  canonicalAddress,
  ClusterKeys,
  destinationRecordOf,
  parseEntry,
  type BlockDecision,
} from "../../src/cluster/cluster-records";

const keys = new ClusterKeys("cl-site");
const NOW = 1_700_000_000_000;

test("keys name the site and the target, with addresses in one canonical form", () => {
  expect(keys.prefix).toBe("/fos1/cl-site/");
  const { key: v6 } = blockRecordOf(
    keys,
    {
      kind: "block",
      target: { scope: "destination", address: "2001:DB8:0::0:1" },
      ttlMs: 1000,
      reason: "r",
      cause: "risk",
    },
    "cl-a",
    NOW,
  );
  expect(v6).toBe("/fos1/cl-site/blocks/destination/2001:db8::1");
  const { key: flow, record } = blockRecordOf(
    keys,
    {
      kind: "block",
      target: {
        scope: "flow",
        flow: {
          srcIp: "::ffff:192.0.2.1",
          dstIp: "198.51.100.7",
          srcPort: 5060,
          dstPort: 5060,
          protocol: "udp",
        },
      },
      ttlMs: 1000,
      reason: "r",
      cause: "risk",
    },
    "cl-a",
    NOW,
  );
  expect(flow).toBe("/fos1/cl-site/blocks/flow/udp/192.0.2.1/5060/198.51.100.7/5060");
  expect(record.expiresAt).toBe(NOW + 1000);
  expect(canonicalAddress("not-an-address")).toBeUndefined();
  expect(() => new ClusterKeys("Bad/Site")).toThrow();
});

test("a decision that cannot be stored is refused with the field and the reason", () => {
  const bad = (decision: Partial<BlockDecision>) =>
    blockRecordOf(
      keys,
      {
        kind: "block",
        target: { scope: "source", address: "10.0.0.1" },
        ttlMs: 1000,
        reason: "r",
        ...decision,
      } as BlockDecision,
      "cl-a",
      NOW,
    );
  expect(() => bad({ ttlMs: 0 })).toThrow(ValidationError);
  expect(() => bad({ ttlMs: 1.5 })).toThrow(/ttlMs/);
  expect(() => bad({ target: { scope: "source", address: "10.0.0.300" } })).toThrow(/target\.address/);
  expect(() =>
    destinationRecordOf(
      keys,
      { kind: "learn-destination", address: "10.0.0.1", appId: 0, app: "zoom", ttlMs: 1000, source: "dns" },
      "cl-a",
      NOW,
    ),
  ).toThrow(/appId/);
});

test("a stored value is accepted only as valid JSON, of the schema, at the key its content names", () => {
  const key = `${keys.blocks}source/10.0.0.1`;
  const good = {
    target: { scope: "source", address: "10.0.0.1" },
    reason: "r",
    origin: "cl-a",
    expiresAt: NOW,
  };
  expect(parseEntry(keys, "block", key, JSON.stringify(good))).toMatchObject({ ok: true });
  // Fields a newer agent adds are ignored, not refused.
  expect(parseEntry(keys, "block", key, JSON.stringify({ ...good, severity: 3 }))).toMatchObject({
    ok: true,
  });
  expect(parseEntry(keys, "block", key, "[")).toMatchObject({ ok: false, rejection: { reason: "json" } });
  expect(parseEntry(keys, "block", key, JSON.stringify({ ...good, origin: "Not A Name" }))).toMatchObject({
    ok: false,
    rejection: { reason: "schema", detail: expect.stringContaining(`${key}: origin: must be lower-case`) },
  });
  expect(parseEntry(keys, "block", `${keys.blocks}source/10.0.0.2`, JSON.stringify(good))).toMatchObject({
    ok: false,
    rejection: { reason: "key", detail: `${keys.blocks}source/10.0.0.2: the record names ${key}` },
  });
  // A non-canonical address in the value names the canonical key, so it matches only there.
  const v6 = { ...good, target: { scope: "source", address: "2001:DB8::1" } };
  expect(parseEntry(keys, "block", `${keys.blocks}source/2001:db8::1`, JSON.stringify(v6))).toMatchObject({
    ok: true,
  });
});
