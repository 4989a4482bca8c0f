import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProgramStore, StoreError } from "@fos1/dpi/agent/src/store/program-store";
import { goldenProgram, rehash } from "./fixtures/programs";

const qos = goldenProgram("qos-default-qos-policy");
const firewall = goldenProgram("firewall-branch-firewall");

function freshStore() {
  const dir = mkdtempSync(join(tmpdir(), "ac-store-"));
  return { dir, programs: join(dir, "programs"), store: new ProgramStore(dir) };
}

describe("ProgramStore", () => {
  it("keeps one file per program and loads them back sorted by name", async () => {
    const { store, programs } = freshStore();
    await store.stage({ program: qos, appliedAt: "2024-01-01T00:00:00.000Z" }).commit();
    await store.stage({ program: firewall, appliedAt: "2024-01-02T00:00:00.000Z" }).commit();
    expect(readdirSync(programs).sort()).toEqual([
      "firewall-branch-firewall.json",
      "qos-default-qos-policy.json",
    ]);
    const loaded = await new ProgramStore(join(programs, "..")).load();
    expect(loaded.map((s) => s.program.metadata.name)).toEqual([
      "firewall-branch-firewall",
      "qos-default-qos-policy",
    ]);
    expect(loaded[1]).toEqual({
      program: qos,
      appliedAt: "2024-01-01T00:00:00.000Z",
      body: Buffer.from(JSON.stringify(qos)),
    });
  });

  it("writes a program's body as it was PUT and loads those bytes back with it", async () => {
    const { store, programs } = freshStore();
    const body = Buffer.from(JSON.stringify(qos, null, 1));
    await store.stage({ program: qos, appliedAt: "a", body }).commit();
    const file = readFileSync(join(programs, "qos-default-qos-policy.json"));
    expect(file.includes(body)).toBe(true);
    const [loaded] = await store.load();
    expect(loaded!.program).toEqual(qos);
    expect(loaded!.body?.equals(body)).toBe(true);
  });

  it("loads no body from a file whose program member is not one JSON value on its own", async () => {
    const { store, programs } = freshStore();
    const file = join(programs, "qos-default-qos-policy.json");
    await store.stage({ program: qos, appliedAt: "a" }).commit();
    // A later duplicate member wins in JSON.parse: the bytes after "program": are not the program.
    writeFileSync(file, `{"appliedAt":"a","program":{"x":1},"program":${JSON.stringify(qos)}}`);
    const [loaded] = await store.load();
    expect(loaded!.program).toEqual(qos);
    expect(loaded!.body).toBeUndefined();
  });

  it("replaces a program in place and removes it", async () => {
    const { store, programs } = freshStore();
    await store.stage({ program: qos, appliedAt: "a" }).commit();
    const changed = rehash(qos, (p) => (p.spec.tc[0].classes[1].prio = 5));
    await store.stage({ program: changed, appliedAt: "b" }).commit();
    expect((await store.load()).map((s) => s.program.hash)).toEqual([changed.hash]);
    await store.remove(qos.metadata.name);
    await store.remove(qos.metadata.name);
    expect(readdirSync(programs)).toEqual([]);
  });

  it("keeps the stored program until a staged one is committed; a discarded one leaves no trace", async () => {
    const { store, programs } = freshStore();
    await store.stage({ program: qos, appliedAt: "a" }).commit();
    const changed = rehash(qos, (p) => (p.spec.tc[0].classes[1].prio = 5));
    const staged = store.stage({ program: changed, appliedAt: "b" });
    expect((await store.load()).map((s) => s.program.hash)).toEqual([qos.hash]);
    await staged.discard();
    expect(readdirSync(programs)).toEqual(["qos-default-qos-policy.json"]);
    expect((await store.load()).map((s) => s.program.hash)).toEqual([qos.hash]);
    const again = store.stage({ program: changed, appliedAt: "b" });
    await again.commit();
    expect((await store.load()).map((s) => s.program.hash)).toEqual([changed.hash]);
  });

  it("reports a staged write that failed when it is committed", async () => {
    const { dir, store } = freshStore();
    // The programs directory cannot be made where a file is.
    writeFileSync(join(dir, "programs"), "not a directory");
    const staged = store.stage({ program: qos, appliedAt: "a" });
    await expect(staged.commit()).rejects.toThrow(/EEXIST|ENOTDIR/);
    await staged.discard();
  });

  it("drops the leftovers of a write interrupted before its rename", async () => {
    const { store, programs } = freshStore();
    await store.stage({ program: qos, appliedAt: "a" }).commit();
    writeFileSync(join(programs, "qos-default-qos-policy.json.tmp-4242"), '{"program": {"apiVer');
    expect(await store.load()).toHaveLength(1);
    expect(readdirSync(programs)).toEqual(["qos-default-qos-policy.json"]);
  });

  it("refuses to start from a file it cannot trust, naming the file and the reason", async () => {
    const { store, programs } = freshStore();
    await store.stage({ program: qos, appliedAt: "a" }).commit();
    const file = join(programs, "qos-default-qos-policy.json");
    const original = readFileSync(file, "utf8");

    writeFileSync(file, original.slice(0, 100));
    await expect(store.load()).rejects.toThrow(new RegExp(`^${file}: not JSON`));

    const edited = JSON.parse(original);
    edited.program.spec.tc[0].classes[0].ceilBps = 1000;
    writeFileSync(file, JSON.stringify(edited));
    await expect(store.load()).rejects.toThrow(/hash does not match the program/);

    edited.program.spec.tc = "none";
    writeFileSync(file, JSON.stringify(edited));
    await expect(store.load()).rejects.toThrow(/qos-default-qos-policy\.json: program\.spec\.tc: /);

    writeFileSync(join(programs, "qos-other.json"), original);
    writeFileSync(file, original);
    const error = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(/qos-other\.json: holds program "qos-default-qos-policy"/);
  });
});
