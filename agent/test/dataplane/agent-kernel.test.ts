import { AgentError, apiError } from "@fos1/dpi/sdk/agent-api";
import { hostileBodies } from "../unit/fixtures/hostile-bodies";
import { kernelProgram, rehash } from "../unit/fixtures/programs";
import { AgentLab, type KernelSnapshot } from "./agent-process";

/**
 * The real agent process in a router namespace, programming the real kernel
 * through its API: applied state read back with nft/tc/ip in JSON, zero-write
 * re-apply, authentication and hostile bodies with no kernel change, drift
 * repair after out-of-band flushes, kill -9 and restart, delete.
 */
const lab = new AgentLab(String(process.pid % 10000));
const first = kernelProgram("firewall-lab-one", "router-1", lab.uplinks[0]);
const second = rehash(kernelProgram("firewall-lab-two", "router-1", lab.uplinks[1]), (p) => {
  p.spec.ipRules[0].priority = 1001;
});

type NftObject = {
  table?: { name: string };
  rule?: { table: string };
  set?: { name: string; table: string };
};
type Qdisc = { dev: string; kind: string; root?: boolean; handle: string };
type Rule = { priority: number; fwmark?: string; table?: string };
type Route = { table?: string; dst: string; gateway?: string; dev: string };

const fos1Tables = (s: KernelSnapshot) =>
  (s.nft as { nftables: NftObject[] }).nftables.flatMap((o) =>
    o.table?.name.startsWith("fos1_") ? [o.table.name] : [],
  );
const htbRoots = (s: KernelSnapshot) =>
  (s.qdiscs as Qdisc[]).filter((q) => q.kind === "htb" && q.root).map((q) => q.dev);
const markRules = (s: KernelSnapshot) =>
  (s.rules as Rule[])
    .filter((r) => r.fwmark !== undefined)
    .map((r) => `${r.priority} ${r.fwmark} ${r.table}`);
const uplinkRoutes = (s: KernelSnapshot) =>
  (s.routes as Route[])
    .filter((r) => r.table === "101" || r.table === "102")
    .map((r) => `${r.table} ${r.dst} ${r.gateway} ${r.dev}`);

beforeAll(async () => {
  await lab.setup();
  await lab.start();
  await lab.ready();
}, 60_000);
afterAll(async () => {
  await lab.teardown();
  lab.removeFiles();
}, 30_000);

describe("the agent process programming a router namespace", () => {
  it("PUT puts the program's table, HTB tree, mark rule and route into the kernel", async () => {
    const result = await lab.client.putProgram(first);
    expect(result.writes.nftables).toBeGreaterThan(0);
    expect(result.writes.tc).toBeGreaterThan(0);
    expect(result.writes.ip).toBeGreaterThan(0);
    await lab.client.putProgram(second);

    const s = await lab.snapshot();
    expect(fos1Tables(s).sort()).toEqual(["fos1_firewall_lab_one", "fos1_firewall_lab_two"]);
    expect(htbRoots(s).sort()).toEqual(["acwan1", "acwan2"]);
    expect([...s.classes.matchAll(/^class htb (\S+)/gm)].map((m) => m[1]).sort()).toEqual([
      "1:1",
      "1:10",
      "1:11",
      "1:12",
    ]);
    expect(markRules(s).sort()).toEqual(["1000 0x10 101", "1001 0x20 102"]);
    expect(uplinkRoutes(s).sort()).toEqual([
      "101 default 198.51.100.1 acwan1",
      "102 default 203.0.113.1 acwan2",
    ]);
    expect((await lab.client.getProgram(first.metadata.name))?.drift).toEqual([]);
  });

  it("a second PUT of the same program writes nothing", async () => {
    const before = await lab.snapshot();
    const again = await lab.client.putProgram(first);
    expect(again.writes).toEqual({ maps: 0, nftables: 0, tc: 0, ip: 0 });
    expect(await lab.snapshot()).toEqual(before);
  });

  it("401 without or with a wrong token, and the kernel does not change", async () => {
    const before = await lab.snapshot();
    const changed = rehash(first, (p) => (p.spec.tc[0].classes[2].ceilBps = 30_000_000));
    for (const headers of [{ authorization: "" }, { authorization: "Bearer not-the-token-0123456789" }]) {
      const res = await lab.request(
        "PUT",
        `/v1/programs/${first.metadata.name}`,
        JSON.stringify(changed),
        headers,
      );
      expect(res.status).toBe(401);
      const del = await lab.request("DELETE", `/v1/programs/${first.metadata.name}`, "", headers);
      expect(del.status).toBe(401);
    }
    expect(await lab.snapshot()).toEqual(before);
  });

  it("47 malformed or hostile bodies are refused with paths, and the kernel does not change", async () => {
    const before = await lab.snapshot();
    const cases = hostileBodies(rehash(first, (p) => (p.metadata.name = "firewall-lab-three")));
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const c of cases) {
      const res = await lab.request(
        "PUT",
        `/v1/programs/${c.urlName ?? "firewall-lab-three"}`,
        c.body,
        c.contentType ? { "content-type": c.contentType } : {},
      );
      expect([c.name, res.status]).toEqual([c.name, c.status]);
      if (c.path !== undefined)
        expect([c.name, apiError.parse(res.json).problems.map((p) => p.path)]).toEqual([
          c.name,
          expect.arrayContaining([c.path]),
        ]);
    }
    expect(await lab.snapshot()).toEqual(before);
    expect((await lab.client.listPrograms()).programs.map((p) => p.name)).toEqual([
      "firewall-lab-one",
      "firewall-lab-two",
    ]);
  });

  it("a program claiming another's device is a 409, and the kernel does not change", async () => {
    const before = await lab.snapshot();
    const rival = rehash(kernelProgram("firewall-lab-rival", "router-1", lab.uplinks[0]), (p) => {
      p.spec.ipRules[0].priority = 1002;
    });
    const error = (await lab.client.putProgram(rival).catch((e: unknown) => e)) as AgentError;
    expect(error).toBeInstanceOf(AgentError);
    expect(error.status).toBe(409);
    expect(error.problems[0].path).toMatch(/^spec\./);
    expect(await lab.snapshot()).toEqual(before);
  });

  it("repairs `nft flush ruleset` and a deleted qdisc within seconds, and counts the repairs", async () => {
    const before = await lab.snapshot();
    const repairs = await lab.metric("fos1_agent_drift_repairs_total");
    await lab.exec(["nft", "flush", "ruleset"]);
    await lab.exec(["tc", "qdisc", "del", "dev", "acwan1", "root"]);
    const ms = await lab.until(async () => {
      const s = await lab.snapshot();
      return fos1Tables(s).length === 2 && htbRoots(s).length === 2;
    }, 5000);
    expect(ms).toBeLessThan(5000);
    await lab.until(async () => (await lab.metric("fos1_agent_drift_repairs_total")) >= repairs + 2, 2000);
    expect(await lab.metric('fos1_agent_drift_repairs_total{subsystem="nftables"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(await lab.metric('fos1_agent_drift_repairs_total{subsystem="tc"}')).toBeGreaterThanOrEqual(1);
    const after = await lab.snapshot();
    expect(fos1Tables(after)).toEqual(fos1Tables(before));
    const withoutLeafHandles = (text: string) => text.replace(/ leaf [0-9a-f]+:/g, "");
    expect(withoutLeafHandles(after.classes)).toEqual(withoutLeafHandles(before.classes));
  });

  it("after kill -9 and a wiped kernel, the restarted agent re-applies before it is ready, with no duplicates", async () => {
    const before = await lab.snapshot();
    await lab.kill9();
    // Enforcement stays while the agent is down: nothing removed it.
    expect(fos1Tables(await lab.snapshot()).sort()).toEqual([
      "fos1_firewall_lab_one",
      "fos1_firewall_lab_two",
    ]);
    // Wipe part of the state, as a reboot would, so the restart has to re-apply it.
    await lab.exec(["nft", "flush", "ruleset"]);
    await lab.exec(["tc", "qdisc", "del", "dev", "acwan2", "root"]);
    await lab.exec(["ip", "rule", "del", "priority", "1000"]);

    await lab.start();
    const atReady = await lab.ready();
    expect(fos1Tables(atReady).sort()).toEqual(fos1Tables(before).sort());
    expect(htbRoots(atReady).sort()).toEqual(["acwan1", "acwan2"]);
    expect(markRules(atReady).sort()).toEqual(["1000 0x10 101", "1001 0x20 102"]);
    expect(uplinkRoutes(atReady).sort()).toEqual(uplinkRoutes(before).sort());
    expect((await lab.client.putProgram(first)).writes).toEqual({ maps: 0, nftables: 0, tc: 0, ip: 0 });
    expect((await lab.client.putProgram(second)).writes).toEqual({ maps: 0, nftables: 0, tc: 0, ip: 0 });
  }, 60_000);

  it("a restart over intact state writes nothing", async () => {
    const before = await lab.snapshot();
    await lab.kill9();
    await lab.start();
    await lab.ready();
    expect(await lab.metric('fos1_agent_kernel_writes_total{subsystem="nftables",cause="restore"}')).toBe(0);
    expect(await lab.snapshot()).toEqual(before);
  }, 60_000);

  it("DELETE removes exactly that program's state; deleting the last leaves nothing of fos1", async () => {
    await lab.client.deleteProgram(first.metadata.name);
    const s = await lab.snapshot();
    expect(fos1Tables(s)).toEqual(["fos1_firewall_lab_two"]);
    expect(htbRoots(s)).toEqual(["acwan2"]);
    expect(markRules(s)).toEqual(["1001 0x20 102"]);
    expect(uplinkRoutes(s)).toEqual(["102 default 203.0.113.1 acwan2"]);

    await lab.client.deleteProgram(second.metadata.name);
    const empty = await lab.snapshot();
    expect(fos1Tables(empty)).toEqual([]);
    expect(htbRoots(empty)).toEqual([]);
    expect(markRules(empty)).toEqual([]);
    expect(uplinkRoutes(empty)).toEqual([]);
    expect((await lab.client.listPrograms()).programs).toEqual([]);
  });
});
