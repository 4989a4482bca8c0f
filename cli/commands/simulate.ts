import { basename } from "node:path";
import type { NodeProgram } from "../../sdk/compile";
import { formatProblem, type Problem } from "../../sdk/schema";
import { renderReportHtml } from "../../sdk/report";
import {
  diffReports,
  simulate as simulateFlows,
  summariseClasses,
  type FlowReport,
} from "../../sdk/simulate";
import { EXIT, UsageError, type Io } from "../io";
import { classifyCapture } from "../sensor";
import { compileFiles } from "../compile-files";

export const simulateUsage =
  "fos1-dpi simulate --site SITE --pcap PCAP [--pcap PCAP...] [--node NODE] [--against OLD_FILE...] [--json] FILE...";

export interface SimulateOptions {
  readonly site?: string;
  readonly pcaps: readonly string[];
  readonly node?: string;
  readonly against: readonly string[];
  readonly json: boolean;
  /** Also write the report as an HTML page here. */
  readonly html?: string;
}

type CaptureReport = FlowReport & { readonly capture: string };

/**
 * What the policies would decide for every flow of the captures, offline and
 * without root: nDPI classifies the flows, and the same decision code the
 * agent runs replays them against the compiled programs of one node. With
 * `--against`, the flows whose decisions differ between the old and new policy
 * sets, for review next to `pulumi preview --diff`.
 */
export async function simulate(io: Io, files: readonly string[], options: SimulateOptions): Promise<number> {
  if (!options.site) throw new UsageError(`--site is required\nusage: ${simulateUsage}`);
  if (options.pcaps.length === 0) throw new UsageError(`--pcap is required\nusage: ${simulateUsage}`);
  if (files.length === 0) throw new UsageError(`no policy files given\nusage: ${simulateUsage}`);

  const problems: Problem[] = [];
  const current = programsFor(io, options, files, problems);
  const previous =
    options.against.length > 0 ? programsFor(io, options, options.against, problems) : undefined;
  if (problems.length > 0 || !current) {
    if (options.json) io.out(JSON.stringify({ ok: false, problems }) + "\n");
    else for (const p of problems) io.err(formatProblem(p) + "\n");
    return EXIT.rejected;
  }

  const flows: CaptureReport[] = [];
  const before: CaptureReport[] = [];
  for (const pcap of options.pcaps) {
    io.err(`simulate: classifying ${pcap}\n`);
    const run = await classifyCapture(pcap);
    for (const r of run.rejected) io.err(`simulate: ${pcap}: sensor line skipped (${r.reason})\n`);
    const capture = basename(pcap);
    flows.push(
      ...simulateFlows(run.events, current).map((f) => ({ ...f, capture, flow: `${capture} ${f.flow}` })),
    );
    if (previous)
      before.push(
        ...simulateFlows(run.events, previous).map((f) => ({ ...f, capture, flow: `${capture} ${f.flow}` })),
      );
  }
  const classes = summariseClasses(flows);
  const changes = previous ? diffReports(before, flows) : undefined;
  if (options.html) {
    const source = `simulate ${options.pcaps.map((p) => basename(p)).join(", ")}`;
    io.writeFile(options.html, renderReportHtml({ title: "fos1-dpi simulation", source, flows, classes }));
    io.err(`simulate: report written to ${options.html}\n`);
  }

  if (options.json) {
    io.out(JSON.stringify({ flows, classes, ...(changes ? { changes } : {}) }) + "\n");
    return EXIT.ok;
  }
  if (changes) {
    io.out(`${changes.length} of ${flows.length} flows change\n`);
    for (const c of changes)
      io.out(
        `${c.flow} (${c.app}): ${c.changes.map((x) => `${x.field} ${x.before} -> ${x.after}`).join(", ")}\n`,
      );
    return EXIT.ok;
  }
  io.out(table(flows));
  io.out(
    "\n" +
      table(
        classes.map((c) => ({ ...c, dscp: String(c.dscp) })),
        ["class", "dscp", "flows", "packets", "bytes"],
      ),
  );
  return EXIT.ok;
}

function programsFor(
  io: Io,
  options: SimulateOptions,
  files: readonly string[],
  problems: Problem[],
): NodeProgram[] | undefined {
  const compiled = compileFiles(io, options.site!, files);
  problems.push(...compiled.problems);
  if (!compiled.site || compiled.problems.length > 0) return undefined;
  const node = options.node ?? compiled.site.spec.nodes[0].name;
  if (!compiled.site.spec.nodes.some((n) => n.name === node)) {
    problems.push({ file: options.site, path: "spec.nodes", message: `no node named "${node}"` });
    return undefined;
  }
  return compiled.programs.filter((p) => p.metadata.node === node);
}

const FLOW_COLUMNS = ["flow", "app", "class", "dscp", "uplink", "path", "verdict"];

function table(rows: readonly object[], columns: readonly string[] = FLOW_COLUMNS): string {
  const cells = rows.map((r) => columns.map((c) => String((r as Record<string, unknown>)[c] ?? "")));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join("  ")
      .trimEnd() + "\n";
  return line(columns.map((c) => c.toUpperCase())) + cells.map(line).join("");
}
