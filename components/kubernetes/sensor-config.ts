import { stringify } from "yaml";
import { canonicalJson, sha256 } from "../../sdk/compile/canonical";
import type { DpiSensorSpec, Engine } from "../../sdk/schema/dpi-sensor";

/** Host directory shared by sensors (writers) and the agent (reader) for DPI events. */
export const EVENTS_DIR = "/run/fos1/events";
/** Local port the agent accepts nProbe's JSON flow export on. */
export const NPROBE_EXPORT_PORT = 9556;

/** Files of one engine's ConfigMap, file name -> content. */
export type ConfigFiles = Readonly<Record<string, string>>;

/** Home networks the sensors treat as local: the selected prefixes, else the private ranges. */
function homeNets(spec: DpiSensorSpec): string[] {
  return spec.prefixes && spec.prefixes.length > 0
    ? [...spec.prefixes]
    : ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Fetches every pinned rule archive and refuses any whose sha256 differs:
 * the ConfigMap (and so the pods) change when a pin changes, never when
 * upstream republishes under the same URL.
 */
function fetchRulesScript(spec: DpiSensorSpec): string {
  const lines = [
    "#!/bin/sh",
    "set -eu",
    'rules="${RULES_DIR:-/var/lib/suricata/rules}"',
    'mkdir -p "$rules"',
  ];
  for (const source of spec.ruleSources) {
    const archive = `/tmp/${source.name}.tar.gz`;
    lines.push(
      `curl -fsSL --proto =https -o ${shellQuote(archive)} ${shellQuote(source.url)}`,
      `echo ${shellQuote(`${source.sha256}  ${archive}`)} | sha256sum -c -`,
      `mkdir -p "$rules/${source.name}" && tar -xzf ${shellQuote(archive)} -C "$rules/${source.name}"`,
    );
  }
  lines.push(`find "$rules" -name '*.rules' -exec cat {} + > "$rules/fos1.rules"`, "");
  return lines.join("\n");
}

function suricataConfig(spec: DpiSensorSpec): ConfigFiles {
  const config = {
    vars: {
      "address-groups": { HOME_NET: `[${homeNets(spec).join(",")}]`, EXTERNAL_NET: "!$HOME_NET" },
    },
    "default-rule-path": "/var/lib/suricata/rules",
    "rule-files": ["fos1.rules"],
    "af-packet": [
      { interface: spec.mirrorInterface, "cluster-id": 99, "cluster-type": "cluster_flow", defrag: true },
    ],
    outputs: [
      {
        "eve-log": {
          enabled: true,
          filetype: "regular",
          filename: `${EVENTS_DIR}/suricata.eve.json`,
          types: ["alert", "anomaly", "flow", "dns", "tls", "http"],
        },
      },
    ],
  };
  return {
    "suricata.yaml": `%YAML 1.1\n---\n${stringify(config)}`,
    "fetch-rules.sh": fetchRulesScript(spec),
    "rule-sources.json": canonicalJson(spec.ruleSources, 2) + "\n",
  };
}

function zeekConfig(spec: DpiSensorSpec): ConfigFiles {
  const local = [
    "@load base/frameworks/notice",
    "@load base/protocols/conn",
    "@load base/protocols/dns",
    "@load base/protocols/http",
    "@load base/protocols/ssl",
    "@load policy/tuning/json-logs.zeek",
    `redef Log::default_logdir = "${EVENTS_DIR}/zeek";`,
    `redef Site::local_nets += { ${homeNets(spec)
      .map((p) => (p.includes(":") ? `[${p.split("/")[0]}]/${p.split("/")[1]}` : p))
      .join(", ")} };`,
    "",
  ];
  return { "local.zeek": local.join("\n") };
}

function nprobeConfig(spec: DpiSensorSpec): ConfigFiles {
  const options = [
    `-i=${spec.mirrorInterface}`,
    `-T=%IPV4_SRC_ADDR %IPV4_DST_ADDR %IPV6_SRC_ADDR %IPV6_DST_ADDR %L4_SRC_PORT %L4_DST_PORT %PROTOCOL %L7_PROTO %L7_PROTO_NAME %IN_BYTES %OUT_BYTES %IN_PKTS %OUT_PKTS %FIRST_SWITCHED %LAST_SWITCHED`,
    "--json-labels",
    `--tcp=127.0.0.1:${NPROBE_EXPORT_PORT}`,
    `--local-networks=${homeNets(spec).join(",")}`,
    "",
  ];
  return { "nprobe.conf": options.join("\n") };
}

function ndpiConfig(spec: DpiSensorSpec): ConfigFiles {
  const filter = spec.prefixes?.length ? spec.prefixes.map((p) => `net ${p}`).join(" or ") : "";
  return {
    "sensor.env": [`FOS1_MIRROR_INTERFACE=${spec.mirrorInterface}`, `FOS1_BPF_FILTER=${filter}`, ""].join(
      "\n",
    ),
  };
}

const RENDERERS: Record<Engine, (spec: DpiSensorSpec) => ConfigFiles> = {
  suricata: suricataConfig,
  zeek: zeekConfig,
  nprobe: nprobeConfig,
  ndpi: ndpiConfig,
};

/** Pure: an engine's configuration files for a validated sensor spec. */
export function renderSensorConfig(engine: Engine, spec: DpiSensorSpec): ConfigFiles {
  return RENDERERS[engine](spec);
}

/**
 * First 10 hex digits of the sha256 of the files: part of the ConfigMap's
 * name, so any change is a new ConfigMap and a rolled DaemonSet, visible in
 * the preview, and a stack rollback restores the old one.
 */
export function configHash(files: ConfigFiles): string {
  return sha256(canonicalJson(files)).slice(0, 10);
}
