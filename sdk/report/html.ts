import type { FlowReport } from "../simulate/flow-report";
import type { ClassSummary } from "../simulate/report-diff";

/** A class's configured band and, from the lab, the rate measured on the wire. */
export interface ClassRate {
  readonly class: string;
  readonly uplink: string;
  readonly minBps: number;
  readonly maxBps: number;
  readonly measuredBps?: number;
}

export interface ReportInput {
  readonly title: string;
  /** Where the flows came from: "simulate netflix.pcap", "lab". */
  readonly source: string;
  readonly flows: readonly FlowReport[];
  readonly classes: readonly ClassSummary[];
  readonly rates?: readonly ClassRate[];
  /** Sentences a reader needs to read the numbers right (how the lab drove the traffic). */
  readonly notes?: readonly string[];
}

const escape = (s: string | number) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

const mbit = (bps: number) => `${(bps / 1e6).toFixed(bps < 10e6 ? 2 : 1)} Mbit/s`;

/** Horizontal bars: flows and bytes per class. */
function classChart(classes: readonly ClassSummary[]): string {
  const max = Math.max(1, ...classes.map((c) => c.bytes));
  const rowHeight = 28;
  const bars = classes
    .map((c, i) => {
      const width = Math.max(2, Math.round((c.bytes / max) * 420));
      const y = i * rowHeight;
      return [
        `<g class="class-bar" data-class="${escape(c.class)}">`,
        `<text x="0" y="${y + 18}">${escape(c.class)}</text>`,
        `<rect x="110" y="${y + 4}" width="${width}" height="18" rx="3"></rect>`,
        `<text x="${120 + width}" y="${y + 18}">${escape(c.flows)} flows, ${escape(c.bytes.toLocaleString("en-US"))} bytes</text>`,
        `</g>`,
      ].join("");
    })
    .join("\n");
  return `<svg class="chart" role="img" aria-label="bytes per class" width="760" height="${classes.length * rowHeight + 8}">\n${bars}\n</svg>`;
}

/** Per class and uplink: the min..max band and the measured rate as a marker. */
function rateChart(rates: readonly ClassRate[]): string {
  const scale = Math.max(1, ...rates.map((r) => Math.max(r.maxBps, r.measuredBps ?? 0)));
  const x = (bps: number) => 200 + Math.round((bps / scale) * 400);
  const rowHeight = 30;
  const rows = rates
    .map((r, i) => {
      const y = i * rowHeight;
      const inBand = r.measuredBps === undefined || (r.measuredBps <= r.maxBps * 1.1 && r.measuredBps >= 0);
      const marker =
        r.measuredBps === undefined
          ? ""
          : `<circle class="measured ${inBand ? "ok" : "over"}" cx="${x(r.measuredBps)}" cy="${y + 13}" r="6"></circle>` +
            `<text x="${x(r.measuredBps) + 10}" y="${y + 26}" class="measured-label">${escape(mbit(r.measuredBps))}</text>`;
      return [
        `<g class="rate-row" data-class="${escape(r.class)}" data-uplink="${escape(r.uplink)}">`,
        `<text x="0" y="${y + 18}">${escape(`${r.uplink} / ${r.class}`)}</text>`,
        `<rect class="band" x="${x(r.minBps)}" y="${y + 6}" width="${Math.max(2, x(r.maxBps) - x(r.minBps))}" height="14"></rect>`,
        marker,
        `</g>`,
      ].join("");
    })
    .join("\n");
  return `<svg class="chart" role="img" aria-label="class rates against their min and max" width="760" height="${rates.length * rowHeight + 8}">\n${rows}\n</svg>`;
}

function flowTable(flows: readonly FlowReport[]): string {
  const head = ["flow", "application", "class", "DSCP", "uplink", "path", "verdict", "packets"]
    .map((h) => `<th>${h}</th>`)
    .join("");
  const rows = flows
    .map(
      (f) =>
        `<tr class="flow ${f.verdict} ${f.path}" title="${escape(f.reasons.join("; "))}">` +
        [f.flow, f.app, f.class, f.dscp, f.uplink, f.path, f.verdict, f.packets]
          .map((v) => `<td>${escape(v)}</td>`)
          .join("") +
        `</tr>`,
    )
    .join("\n");
  return `<table id="flows"><thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody></table>`;
}

/**
 * A self-contained HTML page (no scripts, no external assets, so it opens from
 * a CI artifact as it is): per-class charts and the flow table. Deterministic
 * for the same input.
 */
export function renderReportHtml(input: ReportInput): string {
  const blocked = input.flows.filter((f) => f.verdict === "blocked").length;
  const fast = input.flows.filter((f) => f.path === "fast").length;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escape(input.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f24; }
h1 { font-size: 20px; margin: 0 0 4px; }
.summary { color: #57606a; margin-bottom: 16px; }
.chart text { font-size: 12px; fill: #1b1f24; }
.class-bar rect { fill: #4c8bf5; }
.band { fill: #c8e1ff; stroke: #4c8bf5; }
.measured.ok { fill: #1a7f37; } .measured.over { fill: #cf222e; }
table { border-collapse: collapse; margin-top: 12px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #d0d7de; text-align: left; white-space: nowrap; }
tr.blocked td { background: #ffebe9; }
tr.fast td:nth-child(6) { color: #1a7f37; font-weight: 600; }
</style>
</head>
<body>
<h1>${escape(input.title)}</h1>
<div class="summary" id="summary">${escape(input.source)}: ${input.flows.length} flows, ${fast} on the fast path, ${blocked} blocked</div>
<h2>Classes</h2>
${classChart(input.classes)}
${input.notes && input.notes.length > 0 ? `<ul id="notes">\n${input.notes.map((n) => `<li>${escape(n)}</li>`).join("\n")}\n</ul>` : ""}
${input.rates && input.rates.length > 0 ? `<h2>Rates against min and max</h2>\n${rateChart(input.rates)}` : ""}
<h2>Flows</h2>
${flowTable(input.flows)}
</body>
</html>
`;
}
