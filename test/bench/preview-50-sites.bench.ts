import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as os from "node:os";
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
 *
 * The children load the library compiled, as users get it (`main:
 * dist/index.js`; Pulumi runs a user's program, not its node_modules,
 * through a TypeScript loader). Under tsx every module Pulumi loads passes
 * through tsx's resolve and load hooks, and our own modules are transpiled
 * as they load: that cost ~1 s of the 1-site time and was no part of what a
 * user's preview pays. The parent transpiles the library, the example and
 * this file with the repository's compilerOptions (TypeScript's emit, as the
 * build's, without its type check) into a temp dir, and runs both sizes
 * from there with plain node. `--tsx` runs both under tsx instead, to
 * compare.
 *
 * What the program registers per resource is what costs: Pulumi makes four
 * promises (each capturing a stack) per top-level property of every resource,
 * and converts each resource's inputs to protobuf Structs and back, twice in
 * mock mode, in proportion to their nodes. A NodeProgram's program (~40-500
 * nodes) costs ~3-4 ms per resource that way, its properties ~0.3 ms each;
 * the node and program name are therefore read from the program's metadata
 * rather than repeated beside it.
 *
 * Each of those promises is stamped with `new Error().stack` as it is made,
 * most of them while a component constructs its children: the components
 * build their children with V8 taking no frames (components/base/
 * promise-stacks.ts), which took the 50-site time from ~9.9 to ~8.3 s
 * (3 interleaved runs each; constructing from ~3.3 to ~1.7 s).
 */
const SITES = 50;
const REPO = path.resolve(__dirname, "../..");
/** What the children load, relative to the repository: the library's sources, the example and this file. */
const COMPILED_SOURCES = [
  "index.ts",
  "sdk",
  "components",
  "examples/multi-site",
  "test/bench/preview-50-sites.bench.ts",
];

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

function typeScriptFiles(relative: string): string[] {
  const full = path.join(REPO, relative);
  if (relative.endsWith(".ts")) return [relative];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(child);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [child] : [];
  });
}

/**
 * Transpiles COMPILED_SOURCES into a temp dir beside a link to node_modules;
 * returns the dir. TypeScript is loaded here, in the parent only: a child
 * that imported it would carry it in its CPU time and resident set.
 */
async function compileForChildren(): Promise<string> {
  const ts = await import("typescript");
  const outDir = mkdtempSync(path.join(os.tmpdir(), "fos1-preview-bench-"));
  const { config } = ts.readConfigFile(path.join(REPO, "tsconfig.json"), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, REPO);
  const compilerOptions = { ...options, sourceMap: false, declaration: false };
  for (const file of COMPILED_SOURCES.flatMap(typeScriptFiles)) {
    const source = readFileSync(path.join(REPO, file), "utf8");
    const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: file });
    const target = path.join(outDir, file.replace(/\.ts$/, ".js"));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  symlinkSync(path.join(REPO, "node_modules"), path.join(outDir, "node_modules"), "dir");
  return outDir;
}

/** How a child is started: this file under tsx, or its compiled copy under plain node. */
type Loader = { readonly kind: "tsx" } | { readonly kind: "compiled"; readonly dir: string };

function measure(sites: number, loader: Loader): Run {
  const entry =
    loader.kind === "tsx"
      ? ["--import", "tsx", __filename]
      : [path.join(loader.dir, "test/bench/preview-50-sites.bench.js")];
  const out = execFileSync(process.execPath, [...entry, "--child", String(sites)], {
    cwd: REPO,
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
  parent().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

async function parent(): Promise<void> {
  const loader: Loader = process.argv.includes("--tsx")
    ? { kind: "tsx" }
    : { kind: "compiled", dir: await compileForChildren() };
  let one: Run;
  let fleet: Run;
  try {
    one = measure(1, loader);
    fleet = measure(SITES, loader);
  } finally {
    if (loader.kind === "compiled") rmSync(loader.dir, { recursive: true, force: true });
  }
  console.log(
    loader.kind === "tsx"
      ? "children: this file and the library under tsx"
      : "children: the library, the example and this file compiled with TypeScript, under plain node (--tsx: under tsx)",
  );
  console.log(`1 site: ${one.resources} resources; ${SITES} sites: ${fleet.resources} resources`);
  console.log(
    `constructing the program: 1 site ${one.constructSeconds.toFixed(3)} s, ${SITES} sites ${fleet.constructSeconds.toFixed(3)} s`,
  );
  console.log(bench(`preview_${SITES}_sites_s`, fleet.seconds, "s", one.seconds));
  console.log(bench(`preview_${SITES}_sites_cpu_s`, fleet.cpuSeconds, "s", one.cpuSeconds));
  console.log(bench(`preview_${SITES}_sites_rss_mb`, fleet.rssMb, "MB", one.rssMb));
}
