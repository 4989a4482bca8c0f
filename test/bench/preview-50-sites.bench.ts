import { execFileSync } from "node:child_process";
import * as path from "node:path";

/**
 * Mocked `pulumi preview` of one program that deploys the four components on
 * 50 sites (examples/multi-site's siteProgram per site), against the same
 * program with one site as the baseline. Each size runs in its own process so
 * its peak RSS is its own: wall time from loading the program to the last
 * resource registration, the CPU time it took, and the process's maximum
 * resident set.
 *
 * Profiled with `node --cpu-prof --import tsx <this file> --child 50`: a
 * quarter of the CPU went to formatting stack traces through source maps.
 * Pulumi captures `new Error().stack` for every promise it makes (four per
 * property of every resource: ~66k in this program), and tsx turns on Node's
 * source maps for every module it loads, @pulumi's own `.js.map` files
 * included, so each capture mapped ten frames (prepareStackTraceWithSourceMaps,
 * URL parsing per frame). The child turns them off before it loads Pulumi
 * and the program; both sizes run that way, and nothing else changes.
 *
 * Profiled again after that: the components' own code (validation,
 * compilation, rendering, hashing) is about 4% of the 50-site CPU; the rest
 * is what Pulumi does per registered resource and property whatever the
 * program: the stack capture of those promises (~18%), converting each
 * resource's inputs to protobuf Structs and back, twice in mock mode (~20%),
 * garbage collection (~19%) and its own bookkeeping. Each child also
 * reports how long constructing the program took (`constructSeconds`), apart
 * from waiting for the registrations it queued.
 */
const SITES = 50;

interface Run {
  readonly seconds: number;
  /** User + system CPU of the process: less sensitive than wall time to other load on the machine. */
  readonly cpuSeconds: number;
  /** Wall time of the `siteProgram` calls alone (constructors; the registrations they queue run after). */
  readonly constructSeconds: number;
  readonly rssMb: number;
  readonly resources: number;
}

async function child(sites: number): Promise<Run> {
  const started = process.hrtime.bigint();
  process.setSourceMapsEnabled(false);
  const pulumi = await import("@pulumi/pulumi");
  let resources = 0;
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources += 1;
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "fos1-bench",
    "fleet",
    true,
  );
  pulumi.runtime.setAllConfig({ "fos1:agentToken": "bench-token-0123456789" }, ["fos1:agentToken"]);
  const { siteProgram } = await import("../../examples/multi-site/program");
  const { FLEET_POLICIES } = await import("../../examples/multi-site/policies");
  const constructing = process.hrtime.bigint();
  for (let i = 1; i <= sites; i++) siteProgram(FLEET_POLICIES, siteDocument(i), `site-${i}-`);
  const constructSeconds = Number(process.hrtime.bigint() - constructing) / 1e9;
  let last = -1;
  while (resources !== last) {
    last = resources;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage();
  return {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    constructSeconds,
    rssMb: process.resourceUsage().maxRSS / 1024,
    resources,
  };
}

/** Site i: the shape of examples/multi-site's site-a, with its own name and addresses. */
function siteDocument(i: number) {
  const octet = i % 250;
  return {
    apiVersion: "networking.fos1.io/v1" as const,
    kind: "Site" as const,
    metadata: { name: `site-${i}` },
    spec: {
      uplinks: [
        { name: "isp1", interface: "wan1", bandwidth: "100Mbit", gateway: "198.51.100.1", default: true },
        { name: "isp2", interface: "wan2", bandwidth: "50Mbit", gateway: "203.0.113.1" },
        { name: "mpls", interface: "mpls0", bandwidth: "20Mbit", gateway: "192.0.2.1", table: 200 },
      ],
      lan: { interfaces: ["lan0"], prefixes: [`10.${octet}.0.0/16`] },
      segments: [{ name: "guest", prefixes: [`10.${octet}.200.0/24`] }],
      nodes: [
        { name: "router-1", agent: { url: `https://10.${octet}.0.1:9443` } },
        { name: "router-2", agent: { url: `https://10.${octet}.0.2:9443` } },
      ],
    },
  };
}

function measure(sites: number): Run {
  const out = execFileSync(process.execPath, ["--import", "tsx", __filename, "--child", String(sites)], {
    cwd: path.resolve(__dirname, "../.."),
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Run;
}

function bench(name: string, value: number, unit: string, baseline: number): string {
  const round = (n: number) => Number(n.toFixed(3));
  return `BENCH ${name} value=${round(value)} unit=${unit} baseline=${round(baseline)} ratio=${round(value / baseline)}`;
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) {
  child(Number(process.argv[childAt + 1])).then((run) => process.stdout.write(JSON.stringify(run) + "\n"));
} else {
  const one = measure(1);
  const fleet = measure(SITES);
  console.log(`1 site: ${one.resources} resources; ${SITES} sites: ${fleet.resources} resources`);
  console.log(
    `constructing the program: 1 site ${one.constructSeconds.toFixed(3)} s, ${SITES} sites ${fleet.constructSeconds.toFixed(3)} s`,
  );
  console.log(bench(`preview_${SITES}_sites_s`, fleet.seconds, "s", one.seconds));
  console.log(bench(`preview_${SITES}_sites_cpu_s`, fleet.cpuSeconds, "s", one.cpuSeconds));
  console.log(bench(`preview_${SITES}_sites_rss_mb`, fleet.rssMb, "MB", one.rssMb));
}
