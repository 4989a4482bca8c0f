import { parseArgs } from "node:util";
import { renderReportHtml, renderTable } from "../../sdk/report";
import { summariseClasses } from "../../sdk/simulate";
import { EXIT, UsageError, type Io } from "../io";
import { labClient } from "../lab/agent";
import { labDown } from "../lab/down";
import { defaultCaptureDir, repoRoot, stateDirOf } from "../lab/paths";
import { Progress } from "../lab/progress";
import { buildLabReport, type LabReport } from "../lab/report";
import { readState, type LabState } from "../lab/state";
import { DEFAULT_LAB_PREFIX } from "../lab/topology";
import { labUp } from "../lab/up";

export const labUsage =
  "fos1-dpi lab up|report|down [--prefix P] [--json] [--html FILE] [--captures DIR]   (as root)";

/** What the report says about how its numbers came about. */
const NOTES = [
  "Captures are replayed from the LAN hosts (client half only; the uplink namespaces stay silent to replayed flows).",
  "A flow's uplink is chosen at its first packet: the client's learning pass teaches the agent application -> destination, so the selected workload's routed pass of the same captures takes each application's uplink from its first packet.",
  "DSCP and uplink are what the uplink namespaces' captures saw (the DSCP of a flow's last upstream packet); the agent's own view is in agentDscp and agentUplink.",
  "Class rates: live traffic per class on isp1 (SIP, HTTP upload, BitTorrent, iperf3), from the HTB class byte counters over a window after inspection named the flows; first every class at once (each gets at least its min), then each alone (capped at its max).",
];

function mirrorSummary(state: LabState, report: LabReport): string[] {
  return Object.entries(state.hosts).map(([host, h]) => {
    const flows = report.flows.filter((f) => f.host === host);
    const mirrored = flows.reduce((s, f) => s + f.mirrored, 0);
    return `${host} (${h.address}): ${h.selected ? "selected" : "not selected"} by the DpiSensor, ${flows.length} flows, ${mirrored} packets mirrored to the sensor`;
  });
}

function requireState(prefix: string): LabState {
  const state = readState(stateDirOf(prefix));
  if (!state?.agent?.url)
    throw new UsageError(`no running lab with prefix "${prefix}": run fos1-dpi lab up first`);
  return state;
}

/**
 * `lab up` builds and drives the local lab site and leaves it running (an
 * existing lab with the same prefix is taken down first, so running it twice
 * works); `lab report` prints what the lab saw; `lab down` removes all of it.
 */
export async function lab(io: Io, argv: readonly string[]): Promise<number> {
  const [action, ...rest] = argv;
  const { values } = parseArgs({
    args: [...rest],
    options: {
      prefix: { type: "string" },
      json: { type: "boolean" },
      html: { type: "string" },
      captures: { type: "string" },
    },
  });
  const prefix = values.prefix ?? DEFAULT_LAB_PREFIX;
  if (!/^[a-z][a-z0-9]{1,11}$/.test(prefix))
    throw new UsageError(`--prefix: must be 2 to 12 lower-case letters and digits, starting with a letter`);
  const dir = stateDirOf(prefix);
  switch (action) {
    case "up": {
      const root = repoRoot();
      const progress = new Progress(io.err, process.stderr.isTTY === true);
      let state: LabState;
      try {
        state = await labUp({
          prefix,
          dir,
          root,
          captureDir: values.captures ?? defaultCaptureDir(root),
          progress,
        });
      } catch (error) {
        progress.stop();
        io.err(`fos1-dpi lab up: ${(error as Error).message}\nfos1-dpi lab up: removing what was made\n`);
        await labDown(prefix, dir);
        return EXIT.rejected;
      }
      progress.stop();
      const agent = state.agent!;
      if (values.json) {
        io.out(
          JSON.stringify({
            prefix,
            stateDir: dir,
            namespaces: state.namespaces,
            agent: { url: agent.url, tokenFile: agent.tokenFile, caFile: agent.caFile },
            upSeconds: state.upSeconds,
          }) + "\n",
        );
      } else {
        io.out(
          [
            `lab "${prefix}" is up (${state.upSeconds} s): ${state.namespaces.length} namespaces, agent at ${agent.url}`,
            `  token: ${agent.tokenFile}  CA: ${agent.caFile}`,
            `  fos1-dpi lab report [--html report.html]${prefix === DEFAULT_LAB_PREFIX ? "" : ` --prefix ${prefix}`}`,
            `  fos1-dpi lab down${prefix === DEFAULT_LAB_PREFIX ? "" : ` --prefix ${prefix}`}`,
            "",
          ].join("\n"),
        );
      }
      return EXIT.ok;
    }
    case "report": {
      const state = requireState(prefix);
      const report = await buildLabReport(state, labClient(state.agent!));
      const hosts = mirrorSummary(state, report);
      if (values.html) {
        io.writeFile(
          values.html,
          renderReportHtml({
            title: "fos1-dpi lab",
            source: `lab ${prefix}`,
            flows: report.flows,
            classes: summariseClasses(report.flows),
            rates: report.classes,
            notes: [...NOTES, ...hosts],
          }),
        );
        io.err(`lab report: written to ${values.html}\n`);
      }
      if (values.json) {
        io.out(JSON.stringify({ flows: report.flows, classes: report.classes }) + "\n");
        return EXIT.ok;
      }
      io.out(
        renderTable(report.flows, [
          "host",
          "capture",
          "flow",
          "app",
          "class",
          "dscp",
          "uplink",
          "path",
          "verdict",
          "mirrored",
        ]),
      );
      io.out(
        "\n" +
          renderTable(
            report.classes.map((c) => ({
              ...c,
              min: `${(c.minBps / 1e6).toFixed(1)} Mbit/s`,
              max: `${(c.maxBps / 1e6).toFixed(1)} Mbit/s`,
              "all at once": `${(c.measuredBps / 1e6).toFixed(1)} Mbit/s`,
              alone: `${(c.aloneBps / 1e6).toFixed(1)} Mbit/s`,
            })),
            ["uplink", "class", "min", "max", "all at once", "alone", "driver", "flows"],
          ),
      );
      io.out("\n" + [...hosts, ...NOTES].join("\n") + "\n");
      return EXIT.ok;
    }
    case "down": {
      const result = await labDown(prefix, dir);
      if (values.json) io.out(JSON.stringify(result) + "\n");
      else
        io.out(
          `lab "${prefix}" is down: ${result.namespaces.length} namespaces, ${result.processes} processes, ${result.mounts.length} mounts removed\n`,
        );
      return EXIT.ok;
    }
    default:
      throw new UsageError(`lab: expected up, report or down\nusage: ${labUsage}`);
  }
}
