// agent_kernel_noop_apply_ms: a second PUT of a large nftables/tc/ip program, which the agent must
// find already in the kernel and answer with zero writes; baseline: the first
// PUT of the same program, which writes it all. Measured against the real
// agent process in a router namespace (nft, tc, ip), a few rounds, medians.
// Needs root; prints its BENCH lines last.
import { performance } from "node:perf_hooks";
import { AgentLab } from "../../agent/test/dataplane/agent-process";
import { kernelProgram, rehash } from "../../agent/test/unit/fixtures/programs";

const ROUNDS = 3;
const SET_ELEMENTS = 10_000;
const RULES = 1_000;
const HTB_LEAVES = 250;

/** One program using every wired subsystem at a size a large site reaches. */
function largeProgram(lab: AgentLab) {
  const base = kernelProgram("firewall-bench-large", "router-1", lab.uplinks[0]);
  return rehash(base, (p) => {
    const table = p.spec.nftables!.table;
    const elements = Array.from(
      { length: SET_ELEMENTS },
      (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    );
    const rules = Array.from(
      { length: RULES },
      (_, i) => `\t\tip daddr 172.16.${(i >> 8) & 255}.${i & 255} tcp dport ${1024 + i} counter drop`,
    );
    p.spec.nftables!.ruleset = [
      `table inet ${table} {`,
      `\tset allow_v4 {\n\t\ttype ipv4_addr\n\t\telements = { ${elements.join(", ")} }\n\t}`,
      "\tchain forward {",
      "\t\ttype filter hook forward priority filter - 10; policy accept;",
      "\t\tip saddr @allow_v4 accept",
      ...rules,
      "\t}",
      "}",
      "",
    ].join("\n");
    const tc = p.spec.tc[0];
    const leafRate = Math.floor((tc.bandwidthBps * 0.5) / HTB_LEAVES);
    tc.classes = [
      ...tc.classes.slice(0, 2),
      ...Array.from({ length: HTB_LEAVES }, (_, i) => ({
        classid: `1:${(0x100 + i).toString(16)}`,
        parent: "1:1",
        name: `leaf-${i}`,
        rateBps: leafRate,
        ceilBps: tc.bandwidthBps,
        prio: i % 8,
        quantum: 1514,
      })),
    ];
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const lab = new AgentLab(`b${process.pid % 1000}`);
  try {
    await lab.setup("1h");
    await lab.start();
    await lab.ready();
    const program = largeProgram(lab);
    const client = lab.client;
    const firsts: number[] = [];
    const noops: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let started = performance.now();
      const first = await client.putProgram(program);
      firsts.push(performance.now() - started);
      if (first.writes.nftables === 0 || first.writes.tc === 0)
        throw new Error("the first PUT wrote nothing");
      for (let i = 0; i < 3; i++) {
        started = performance.now();
        const again = await client.putProgram(program);
        noops.push(performance.now() - started);
        const written = Object.values(again.writes).reduce((a, b) => a + b, 0);
        if (written !== 0) throw new Error(`a repeated PUT wrote ${JSON.stringify(again.writes)}`);
      }
      await client.deleteProgram(program.metadata.name);
    }
    const value = median(noops);
    const baseline = median(firsts);
    console.log(
      `program: ${SET_ELEMENTS} set elements, ${RULES} nft rules, ${HTB_LEAVES + 2} HTB classes, 1 ip rule + route; ` +
        `first PUT ${firsts.map((x) => x.toFixed(0)).join("/")} ms, repeated PUT ${noops.map((x) => x.toFixed(0)).join("/")} ms`,
    );
    console.log(
      `BENCH agent_kernel_noop_apply_ms value=${value.toFixed(1)} unit=ms baseline=${baseline.toFixed(1)} ratio=${(value / baseline).toFixed(3)}`,
    );
  } finally {
    await lab.teardown();
    lab.removeFiles();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
