import { Document, isMap, isScalar, type YAMLMap } from "yaml";
import { canonicalJson, sha256 } from "../../sdk/compile/canonical";
import type { DpiSensorSpec, Engine } from "../../sdk/schema/dpi-sensor";

// Where sensors and the agent meet on a node. The sensor images' entrypoints
// default to the same paths (a test compares them).

/** Host directory shared by sensors (writers) and the agent (reader) for DPI events. */
export const EVENTS_DIR = "/run/fos1/events";
/** Where a sensor pod mounts its engine's ConfigMap. */
export const SENSOR_CONFIG_DIR = "/etc/fos1-sensor";
/** The agent listens on this unix stream socket; Suricata connects to it (`eve-log.filetype: unix_stream`). */
export const SURICATA_EVE_SOCKET = `${EVENTS_DIR}/suricata-eve.sock`;
/** Where the fetch-rules step writes `suricata.rules` and Suricata reads it. */
export const SURICATA_RULES_DIR = "/var/lib/suricata/rules";
/** Zeek writes its JSON logs here (`Log::default_logdir`); the agent follows every `<log>.log` in it. */
export const ZEEK_LOG_DIR = `${EVENTS_DIR}/zeek`;
/** Address and port the agent accepts nProbe's JSON flow export on (`--tcp`). */
export const NPROBE_EXPORT_HOST = "127.0.0.1";
export const NPROBE_EXPORT_PORT = 9556;
/** The nDPI sensor's JSON lines, appended by its DaemonSet. */
export const NDPI_EVENTS_FILE = `${EVENTS_DIR}/ndpi.jsonl`;

/** Suricata EVE record types the agent parses (sdk/events/suricata-eve.ts). */
export const SURICATA_EVE_TYPES = ["alert", "anomaly", "flow", "dns", "tls", "http"] as const;
/** Zeek logs the agent consumes; every other log stream is switched off so the node writes only these. */
export const ZEEK_LOGS = ["conn", "dns", "ssl", "http", "notice", "weird"] as const;
/** nProbe fields exported per flow: the 5-tuple, counters, times and nDPI's verdict (sdk/events/nprobe-json.ts). */
export const NPROBE_TEMPLATE = [
  "IPV4_SRC_ADDR",
  "IPV4_DST_ADDR",
  "IPV6_SRC_ADDR",
  "IPV6_DST_ADDR",
  "L4_SRC_PORT",
  "L4_DST_PORT",
  "PROTOCOL",
  "IN_BYTES",
  "OUT_BYTES",
  "IN_PKTS",
  "OUT_PKTS",
  "FIRST_SWITCHED",
  "LAST_SWITCHED",
  "L7_PROTO",
  "L7_PROTO_NAME",
  "L7_PROTO_CATEGORY",
  "L7_CONFIDENCE",
  "L7_PROTO_RISK",
  "L7_RISK_SCORE",
  "FLOW_SERVER_NAME",
] as const;

/** Files of one engine's ConfigMap, file name -> content. */
export type ConfigFiles = Readonly<Record<string, string>>;

/** Home networks the sensors treat as local: the selected prefixes, else the private ranges. */
function homeNets(spec: DpiSensorSpec): string[] {
  return spec.prefixes && spec.prefixes.length > 0
    ? [...spec.prefixes]
    : ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];
}

/**
 * One pinned rule archive per line, `name sha256 url`. The Suricata image's
 * fetch-rules step downloads each, refuses any whose sha256 differs and hands
 * the verified archives to suricata-update: the ConfigMap (and so the pods)
 * changes when a pin changes, never when upstream republishes under the same URL.
 */
function ruleSourcesList(spec: DpiSensorSpec): string {
  const lines = spec.ruleSources.map((s) => `${s.name} ${s.sha256} ${new URL(s.url).href}`);
  return ["# name sha256 url", ...lines, ""].join("\n");
}

function suricataYaml(spec: DpiSensorSpec): string {
  const home = `[${homeNets(spec).join(",")}]`;
  const document = new Document({
    vars: {
      // Every group the ET Open rules name; an undefined variable fails the rules that use it.
      "address-groups": {
        HOME_NET: home,
        EXTERNAL_NET: "!$HOME_NET",
        HTTP_SERVERS: "$HOME_NET",
        SMTP_SERVERS: "$HOME_NET",
        SQL_SERVERS: "$HOME_NET",
        DNS_SERVERS: "$HOME_NET",
        TELNET_SERVERS: "$HOME_NET",
        AIM_SERVERS: "$EXTERNAL_NET",
        DC_SERVERS: "$HOME_NET",
        DNP3_SERVER: "$HOME_NET",
        DNP3_CLIENT: "$HOME_NET",
        MODBUS_CLIENT: "$HOME_NET",
        MODBUS_SERVER: "$HOME_NET",
        ENIP_CLIENT: "$HOME_NET",
        ENIP_SERVER: "$HOME_NET",
      },
      "port-groups": {
        HTTP_PORTS: "80",
        SHELLCODE_PORTS: "!80",
        ORACLE_PORTS: "1521",
        SSH_PORTS: "22",
        DNP3_PORTS: "20000",
        MODBUS_PORTS: "502",
        FILE_DATA_PORTS: "[$HTTP_PORTS,110,143]",
        FTP_PORTS: "21",
        GENEVE_PORTS: "6081",
        VXLAN_PORTS: "4789",
        TEREDO_PORTS: "3544",
      },
    },
    // The root file system is read-only; /tmp is the pod's scratch volume.
    "default-log-dir": "/tmp",
    "default-rule-path": SURICATA_RULES_DIR,
    "rule-files": ["suricata.rules"],
    "classification-file": "/etc/suricata/classification.config",
    "reference-config-file": "/etc/suricata/reference.config",
    "af-packet": [
      {
        interface: spec.mirrorInterface,
        threads: "auto",
        "cluster-id": 99,
        "cluster-type": "cluster_flow",
        defrag: true,
        "use-mmap": true,
        "tpacket-v3": true,
        bypass: false,
      },
    ],
    stream: { bypass: false },
    "unix-command": { enabled: false },
    logging: {
      "default-log-level": "notice",
      outputs: [{ console: { enabled: true, type: "json" } }],
    },
    outputs: [
      {
        "eve-log": {
          enabled: true,
          filetype: "unix_stream",
          filename: SURICATA_EVE_SOCKET,
          "community-id": true,
          types: SURICATA_EVE_TYPES.map((type) => {
            if (type === "alert") return { alert: { metadata: true } };
            if (type === "tls" || type === "http") return { [type]: { extended: true } };
            return type;
          }),
        },
      },
    ],
  });
  document.commentBefore =
    " Rendered by fos1-dpi from a DpiSensor spec; mounted read-only, edit the spec instead.";
  commentKey(
    document.getIn(["af-packet", 0]),
    "bypass",
    " No XDP/eBPF bypass: the fast path is fos1's own eBPF program, which offloads a flow only\n" +
      " after inspection cleared it and keeps sampling it; a second bypass here would hide\n" +
      " flows from inspection outside that policy.",
  );
  commentKey(
    document.get("stream"),
    "bypass",
    " No bypass at the reassembly depth either: only fos1's fast-path policy takes a flow off inspection.",
  );
  return `%YAML 1.1\n---\n${document.toString()}`;
}

/** Attaches a comment above `key` of a mapping node. */
function commentKey(node: unknown, key: string, comment: string): void {
  if (!isMap(node)) throw new Error(`suricata.yaml: no mapping holds "${key}"`);
  const pair = (node as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === key);
  if (!pair || !isScalar(pair.key)) throw new Error(`suricata.yaml: no key "${key}" to comment`);
  pair.key.commentBefore = comment;
}

function suricataConfig(spec: DpiSensorSpec): ConfigFiles {
  return { "suricata.yaml": suricataYaml(spec), "rule-sources.list": ruleSourcesList(spec) };
}

/** Zeek's subnet literal: IPv6 prefixes are written `[addr]/len`. */
function zeekSubnet(prefix: string): string {
  const [address, length] = prefix.split("/");
  return address.includes(":") ? `[${address}]/${length}` : prefix;
}

/** Zeek's log stream id of each consumed log. */
const ZEEK_LOG_IDS: Record<(typeof ZEEK_LOGS)[number], string> = {
  conn: "Conn::LOG",
  dns: "DNS::LOG",
  ssl: "SSL::LOG",
  http: "HTTP::LOG",
  notice: "Notice::LOG",
  weird: "Weird::LOG",
};

function zeekConfig(spec: DpiSensorSpec): ConfigFiles {
  const local = [
    "# Rendered by fos1-dpi from a DpiSensor spec. Zeek loads its base scripts first (conn, dns,",
    "# http, ssl, notice); these policy scripts raise the notices the agent scores.",
    "@load policy/protocols/conn/community-id-logging",
    "@load policy/frameworks/notice/community-id",
    "@load policy/protocols/ssl/validate-certs",
    "@load policy/protocols/ssl/expiring-certs",
    "@load policy/protocols/ssl/weak-keys",
    "@load policy/protocols/ssl/heartbleed",
    "@load policy/protocols/ssh/detect-bruteforcing",
    "@load policy/protocols/ftp/detect-bruteforcing",
    "@load policy/protocols/http/detect-sqli",
    "@load policy/protocols/http/software",
    "@load policy/protocols/dns/detect-external-names",
    "@load policy/frameworks/software/vulnerable",
    "@load policy/misc/capture-loss",
    "",
    "# One JSON object per line, in the directory the agent follows.",
    "redef LogAscii::use_json = T;",
    `redef Log::default_logdir = "${ZEEK_LOG_DIR}";`,
    "# Hourly rotation renames conn.log to conn.<time>.log beside it; the agent reads a renamed",
    "# log to its end, and the image's entrypoint prunes old ones.",
    "redef Log::default_rotation_interval = 1 hr;",
    `redef Site::local_nets += { ${homeNets(spec).map(zeekSubnet).join(", ")} };`,
    "",
    "# Only the logs the agent consumes are written.",
    `const fos1_logs: set[Log::ID] = { ${ZEEK_LOGS.map((log) => ZEEK_LOG_IDS[log]).join(", ")} };`,
    "",
    "event zeek_init() &priority=-10",
    "\t{",
    "\tfor ( id in copy(Log::active_streams) )",
    "\t\tif ( id !in fos1_logs )",
    "\t\t\tLog::disable_stream(id);",
    "\t}",
    "",
  ];
  return { "local.zeek": local.join("\n") };
}

function nprobeConfig(spec: DpiSensorSpec): ConfigFiles {
  const options = [
    `-i=${spec.mirrorInterface}`,
    // No NetFlow collector: flows go only to the agent, as JSON.
    "-n=none",
    `-T=${NPROBE_TEMPLATE.map((field) => `%${field}`).join(" ")}`,
    "--json-labels",
    `--tcp=${NPROBE_EXPORT_HOST}:${NPROBE_EXPORT_PORT}`,
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
