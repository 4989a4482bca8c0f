import { Registry } from "prom-client";
import { parseSuricataEve, parseZeekLog, type DpiEvent } from "../../../sdk/events";
import type { Decision } from "../../../sdk/decide";
import { alertLineWriter, IngestMetrics, type IngestSource } from "../../src/ingest";
import { sampleLines } from "./ingest-harness";

function event(
  line: string,
  parse: (l: string) => ReturnType<typeof parseSuricataEve> = parseSuricataEve,
): DpiEvent {
  const result = parse(line);
  if (!result.ok) throw new Error(result.detail);
  return result.event;
}

const alert = event(sampleLines("suricata/fhassanabad-wrccdc-2018-alerts.eve.json")[0]);
const tls = event(
  sampleLines("suricata/elastic-integrations-test-eve-small.eve.json").find((l) =>
    l.includes('"event_type":"tls"'),
  ) as string,
);
const block: Decision = {
  kind: "block",
  target: { scope: "source", address: "0.0.0.0" },
  ttlMs: 60_000,
  reason: "risk 60 over threshold",
  cause: "risk",
};

describe("alertLineWriter", () => {
  it("writes an alert as one flat JSON line with the flow, the signature and the verdicts", () => {
    const lines: string[] = [];
    const write = alertLineWriter((line) => lines.push(line));
    expect(write(alert, [block, block])).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith("\n")).toBe(true);
    expect(JSON.parse(lines[0])).toEqual({
      time: "2018-03-24T20:37:19.037Z",
      type: "dpi-alert",
      engine: "suricata",
      kind: "alert",
      source_type: "alert",
      severity: "medium",
      risk: 60,
      src_ip: "0.0.0.0",
      src_port: 26078,
      dest_ip: "10.47.8.150",
      dest_port: 22,
      proto: "tcp",
      flow_id: "928532049924531",
      signature_id: 2001219,
      signature: "ET SCAN Potential SSH Scan",
      category: "Attempted Information Leak",
      action_hint: "inspect",
      verdicts: ["block"],
    });
  });

  it("skips events that are not alerts", () => {
    const lines: string[] = [];
    expect(alertLineWriter((line) => lines.push(line))(tls)).toBe(false);
    expect(lines).toEqual([]);
  });
});

describe("IngestMetrics", () => {
  it("counts events per application, alerts per signature and verdicts, on the registry it is given", async () => {
    const registry = new Registry();
    const metrics = new IngestMetrics(registry);
    metrics.countEvent(alert);
    metrics.countEvent(alert);
    metrics.countEvent(tls);
    metrics.countDecisions(alert, [block]);
    const text = await registry.metrics();
    expect(text).toContain('fos1_dpi_events_total{engine="suricata",kind="alert",application="unknown"} 2');
    expect(text).toContain(
      `fos1_dpi_events_total{engine="suricata",kind="tls",application="${tls.application?.catalog ?? tls.application?.engineName}"} 1`,
    );
    expect(text).toContain(
      'fos1_dpi_alerts_total{engine="suricata",signature_id="2001219",signature="ET SCAN Potential SSH Scan",severity="medium"} 2',
    );
    expect(text).toContain('fos1_dpi_verdicts_total{verdict="block",application="unknown"} 1');
  });

  it("reports each tracked source's lines per outcome and reason at scrape time", async () => {
    const registry = new Registry();
    const metrics = new IngestMetrics(registry);
    const notice = event(sampleLines("zeek/zed-sample-data-wrccdc2018-notice.json")[0], (l) =>
      parseZeekLog(l),
    );
    metrics.countEvent(notice);
    let parsed = 5;
    const source = {
      name: "zeek",
      start: async () => undefined,
      stop: async () => undefined,
      stats: () => ({
        source: "zeek",
        engine: "zeek",
        lines: {
          parsed,
          rejected: { "not-json": 2, "not-object": 0, "invalid-field": 1, "no-flow": 0, "line-too-long": 0 },
          blank: 0,
        },
        bytes: 0,
        events: parsed,
        batches: 1,
        sinkErrors: 3,
        connections: 0,
        restarts: 0,
        files: 1,
      }),
    } as IngestSource;
    metrics.track(source);
    expect(await registry.metrics()).toContain(
      'fos1_ingest_lines_total{source="zeek",outcome="parsed",reason=""} 5',
    );
    parsed = 9;
    const text = await registry.metrics();
    expect(text).toContain('fos1_ingest_lines_total{source="zeek",outcome="parsed",reason=""} 9');
    expect(text).toContain('fos1_ingest_lines_total{source="zeek",outcome="rejected",reason="not-json"} 2');
    expect(text).toContain('fos1_ingest_sink_errors_total{source="zeek"} 3');
    expect(text).toContain(
      `fos1_dpi_alerts_total{engine="zeek",signature_id="",signature="${notice.signature?.text}"`,
    );
  });
});
