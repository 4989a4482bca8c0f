import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "@fos1/dpi/cli/run";
import type { Io } from "@fos1/dpi/cli/io";
import { renderReportHtml } from "@fos1/dpi/sdk/report";

/**
 * The HTML report is checked the way a person sees it: rendered by a real
 * headless Chromium, then read back from the DOM it built.
 */
const root = join(__dirname, "..", "..");
const pcap = (name: string) => join(root, "..", "shared", "testdata", "ndpi", "pcap", name);
const example = (f: string) => join(root, "examples", f);
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fos1-report-"));
  execFileSync("make", ["-s", "-C", join(root, "sensor-images", "ndpi")], { stdio: "inherit" });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The DOM Chromium builds from the page, serialised. */
function renderedDom(file: string): string {
  return execFileSync(
    "chromium",
    [...CHROMIUM_FLAGS, `--user-data-dir=${join(dir, "profile")}`, "--dump-dom", `file://${file}`],
    {
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
}

it("simulate --html writes a page Chromium renders with the class chart and every flow", async () => {
  const file = join(dir, "report.html");
  let stdout = "";
  const io: Io = {
    out: (t) => (stdout += t),
    err: () => undefined,
    readFile: (p) => readFileSync(p, "utf8"),
    writeFile: (p, t) => writeFileSync(p, t),
  };
  const status = await run(
    [
      "simulate",
      "--json",
      "--html",
      file,
      "--site",
      example("sites/branch.yaml"),
      "--pcap",
      pcap("bittorrent.pcap"),
      "--pcap",
      pcap("sip.pcap"),
      example("policies/design.yaml"),
      example("policies/fast-path.yaml"),
    ],
    io,
  );
  expect(status).toBe(0);
  const report = JSON.parse(stdout) as {
    flows: { flow: string; class: string }[];
    classes: { class: string; flows: number }[];
  };

  const dom = renderedDom(file);
  expect(dom).toContain("<title>fos1-dpi simulation</title>");
  expect(dom).toMatch(
    new RegExp(
      `simulate bittorrent\\.pcap, sip\\.pcap: ${report.flows.length} flows, 0 on the fast path, 0 blocked`,
    ),
  );
  const rows = dom.match(/<tr class="flow [^"]*"/g) ?? [];
  expect(rows).toHaveLength(report.flows.length);
  for (const c of report.classes) {
    expect(dom).toContain(`<g class="class-bar" data-class="${c.class}">`);
    expect(dom).toMatch(new RegExp(`data-class="${c.class}">.*?${c.flows} flows`));
  }
  expect(dom).toMatch(
    /<td>bittorrent<\/td><td>bulk<\/td><td>8<\/td><td>main<\/td><td>slow<\/td><td>allowed<\/td>/,
  );
});

it("marks measured rates over a class's max and escapes what it prints", () => {
  const html = renderReportHtml({
    title: "lab <site>",
    source: "lab",
    flows: [],
    classes: [],
    rates: [
      { class: "bulk", uplink: "isp1", minBps: 1e6, maxBps: 20e6, measuredBps: 19.4e6 },
      { class: "voip", uplink: "isp1", minBps: 20e6, maxBps: 40e6, measuredBps: 55e6 },
    ],
  });
  const file = join(dir, "rates.html");
  writeFileSync(file, html);
  const dom = renderedDom(file);
  expect(dom).toContain("<title>lab &lt;site&gt;</title>");
  expect(dom).toMatch(/data-class="bulk" data-uplink="isp1">.*class="measured ok"/);
  expect(dom).toMatch(/data-class="voip" data-uplink="isp1">.*class="measured over"/);
  expect(dom).toContain("19.4 Mbit/s");
});
