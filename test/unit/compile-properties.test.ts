import fc from "fast-check";
import { APPLICATIONS } from "@fos1/dpi/sdk/apps";
import { compileProgram, compileSite, programName } from "@fos1/dpi/sdk/compile";
import { validateKind, type QosPolicy, type RoutingPolicy, type Site } from "@fos1/dpi/sdk/schema";

/** Properties every compiled program keeps, over policies fast-check makes up. */
const appNames = APPLICATIONS.map((a) => a.name);

function site(bandwidths: number[], segments = 2): Site {
  const result = validateKind("Site", {
    apiVersion: "networking.fos1.io/v1",
    kind: "Site",
    metadata: { name: "prop" },
    spec: {
      uplinks: bandwidths.map((bw, i) => ({
        name: `up${i}`,
        interface: `wan${i}`,
        bandwidth: bw,
        gateway: `192.0.2.${i + 1}`,
      })),
      lan: { interfaces: ["lan0"] },
      segments: Array.from({ length: segments }, (_, i) => ({
        name: `seg${i}`,
        prefixes: [`10.${i}.0.0/16`],
      })),
      nodes: [{ name: "r1", agent: { url: "https://10.0.0.1:9443" } }],
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.value;
}

/** A valid QoS policy: disjoint application sets, mins summing to at most 100, min <= max. */
const qosPolicy = fc
  .record({
    apps: fc.shuffledSubarray(appNames, { minLength: 1, maxLength: 40 }),
    classCount: fc.integer({ min: 1, max: 12 }),
    seeds: fc.array(
      fc.record({
        min: fc.option(fc.integer({ min: 0, max: 100 })),
        max: fc.option(fc.integer({ min: 1, max: 100 })),
        p: fc.constantFrom("high", "medium", "low"),
      }),
      { minLength: 12, maxLength: 12 },
    ),
  })
  .map(({ apps, classCount, seeds }) => {
    const count = Math.min(classCount, apps.length);
    let budget = 100;
    const classes = Array.from({ length: count }, (_, i) => {
      const seed = seeds[i];
      const max = seed.max ?? undefined;
      const min = seed.min === null ? undefined : Math.min(seed.min, budget, max ?? 100);
      budget -= min ?? 0;
      return {
        name: `c${i}`,
        applications: apps.filter((_, j) => j % count === i),
        priority: seed.p,
        bandwidth: {
          ...(min !== undefined ? { min: `${min}%` } : {}),
          ...(max !== undefined ? { max: `${max}%` } : {}),
        },
      };
    });
    const result = validateKind("QoSPolicy", {
      apiVersion: "networking.fos1.io/v1",
      kind: "QoSPolicy",
      metadata: { name: "p" },
      spec: { classes },
    });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.value as QosPolicy;
  });

const bandwidths = fc.array(fc.integer({ min: 1_000_000, max: 10_000_000_000 }), {
  minLength: 1,
  maxLength: 4,
});

describe("QoS compilation invariants", () => {
  it("every class's rate <= ceil <= uplink, guarantees fit the uplink, handles are unique", () => {
    fc.assert(
      fc.property(qosPolicy, bandwidths, (policy, bws) => {
        const program = compileProgram(policy, site(bws), "r1");
        expect(program.spec.tc).toHaveLength(bws.length);
        for (const device of program.spec.tc) {
          const leaves = device.classes.filter((c) => c.parent !== "1:");
          for (const c of device.classes) {
            expect(c.rateBps).toBeLessThanOrEqual(c.ceilBps);
            expect(c.ceilBps).toBeLessThanOrEqual(device.bandwidthBps);
          }
          expect(leaves.reduce((sum, c) => sum + c.rateBps, 0)).toBeLessThanOrEqual(device.bandwidthBps);
          expect(new Set(device.classes.map((c) => c.classid)).size).toBe(device.classes.length);
          expect(device.classes.map((c) => c.classid)).toContain(device.defaultClass);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("every application named maps to exactly one class, and that class exists", () => {
    fc.assert(
      fc.property(qosPolicy, (policy) => {
        const program = compileProgram(policy, site([100e6]), "r1");
        const classIds = new Set(program.spec.maps.fos1_qos_classes.map((e) => e.key.class_id));
        const appEntries = program.spec.maps.fos1_app_policy;
        const appIds = appEntries.map((e) => e.key.app_id);
        expect(new Set(appIds).size).toBe(appIds.length);
        for (const e of appEntries) expect(classIds).toContain(e.value.class_id);
        const named = new Set(policy.spec.classes.flatMap((c) => c.applications ?? []));
        expect(appIds.length).toBe(named.size);
      }),
      { numRuns: 300 },
    );
  });

  it("is deterministic: the same policy compiles to the same bytes and hash", () => {
    fc.assert(
      fc.property(qosPolicy, bandwidths, (policy, bws) => {
        const a = compileProgram(policy, site(bws), "r1");
        const b = compileProgram(structuredClone(policy), site([...bws]), "r1");
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }),
      { numRuns: 100 },
    );
  });
});

/** A valid routing policy over 3 uplinks and 2 segments, with overlapping rules so that order matters. */
const routingPolicy = fc
  .array(
    fc.record({
      apps: fc.option(fc.shuffledSubarray(appNames.slice(0, 12), { minLength: 1, maxLength: 4 })),
      segment: fc.option(fc.constantFrom("seg0", "seg1")),
      via: fc.constantFrom("up0", "up1", "up2", "default-internet"),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((rules) => {
    const spec = {
      rules: rules.map((r, i) => ({
        name: `r${i}`,
        ...(r.apps ? { applications: r.apps } : {}),
        ...(r.segment || !r.apps ? { networkSegment: r.segment ?? "seg0" } : {}),
        action: { routeVia: r.via },
      })),
    };
    const result = validateKind("RoutingPolicy", {
      apiVersion: "networking.fos1.io/v1",
      kind: "RoutingPolicy",
      metadata: { name: "rp" },
      spec,
    });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.value as RoutingPolicy;
  });

describe("routing compilation invariants", () => {
  it("the data plane's fixed lookup order over the emitted table gives the policy's first-match answer", () => {
    const s = site([100e6, 50e6, 20e6]);
    const markOf = Object.fromEntries([
      ...s.spec.uplinks.map((u, i) => [u.name, (i + 1) * 0x10]),
      ["default-internet", 0x10],
    ]);
    const appIds = new Map(APPLICATIONS.map((a) => [a.name, a.id]));
    fc.assert(
      fc.property(
        routingPolicy,
        fc.constantFrom(0, 1, 2, 3),
        fc.constantFrom(...appNames.slice(0, 14)),
        (policy, segmentId, app) => {
          const program = compileProgram(policy, s, "r1");
          const table = new Map(
            program.spec.maps.fos1_route_policy.map((e) => [
              `${e.key.segment_id}/${e.key.app_id}`,
              e.value.mark,
            ]),
          );
          // segment 3 is unknown to the site: the data plane sees it as "any".
          const seg = segmentId === 3 ? 0 : segmentId;
          const appId = appIds.get(app)!;
          const lookedUp =
            [`${seg}/${appId}`, `${seg}/0`, `0/${appId}`, "0/0"]
              .map((k) => table.get(k))
              .find((m) => m !== undefined) ?? 0;
          const segName = seg === 0 ? undefined : `seg${seg - 1}`;
          const winner = policy.spec.rules.find(
            (r) =>
              (!r.applications || r.applications.includes(app)) &&
              (!r.networkSegment || r.networkSegment === segName),
          );
          expect(lookedUp).toBe(winner ? markOf[winner.action.routeVia] : 0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("emits one ip rule and one default route per uplink it uses, with that uplink's mark and table", () => {
    fc.assert(
      fc.property(routingPolicy, (policy) => {
        const s = site([100e6, 50e6, 20e6]);
        const program = compileProgram(policy, s, "r1");
        const tables = new Set(program.spec.ipRules.map((r) => r.table));
        expect(tables.size).toBe(program.spec.ipRules.length);
        expect(program.spec.routes.map((r) => r.table).sort()).toEqual([...tables].sort());
        for (const rule of program.spec.ipRules) expect(rule.fwmark & ~rule.mask).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe("site-wide conflicts", () => {
  it("refuses two QoS policies shaping the same uplink and names both", () => {
    const policy = fc.sample(qosPolicy, { numRuns: 1, seed: 1 })[0];
    const other = { ...policy, metadata: { ...policy.metadata, name: "other" } };
    const { programs, problems } = compileSite([policy, other], site([100e6]));
    expect(programs).toEqual([]);
    expect(problems).toEqual([
      { document: 1, path: "spec.uplinks", message: 'uplink "up0" is already shaped by QoSPolicy "p"' },
    ]);
    expect(programName(policy)).toBe("qos-p");
  });
});
