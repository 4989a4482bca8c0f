import { stringify } from "yaml";
import type { Site } from "../../sdk/schema/site";

/** Where a plain-Linux router keeps the agent: the agent config's defaults and the controller image's layout. */
export const HOST_PATHS = {
  agentDir: "/usr/lib/fos1-dpi/agent",
  bpfDir: "/usr/lib/fos1-dpi/bpf",
  wrapper: "/usr/bin/fos1-dpi-agent",
  configDir: "/etc/fos1-dpi",
  stateDir: "/var/lib/fos1-dpi",
  unit: "/etc/systemd/system/fos1-dpi-agent.service",
} as const;

export const SERVICE = "fos1-dpi-agent";

export interface InstallScriptOptions {
  readonly site: Site;
  readonly node: string;
  /** Port of the agent API on the router. */
  readonly port: number;
  /** PEM of the agent's TLS certificate (public; its key arrives on stdin). */
  readonly certificate: string;
  /** Remote directory where the agent package and the bpf objects were copied. */
  readonly stagingDir: string;
  /** File names of the bpf objects in `<stagingDir>/bpf`. */
  readonly bpfObjects: readonly string[];
}

/** The agent's config file for one node of the site, with the host's paths. */
export function renderHostAgentConfig(site: Site, nodeName: string, port: number): string {
  const node = site.spec.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`site "${site.metadata.name}" has no node "${nodeName}"`);
  return stringify({
    node: node.name,
    listen: { address: "0.0.0.0", port },
    tls: { certFile: `${HOST_PATHS.configDir}/tls.crt`, keyFile: `${HOST_PATHS.configDir}/tls.key` },
    tokenFile: `${HOST_PATHS.configDir}/token`,
    stateDir: HOST_PATHS.stateDir,
    bpf: { enabled: true, objectsDir: HOST_PATHS.bpfDir },
    interfaces: {
      uplinks: Object.fromEntries(
        site.spec.uplinks.map((u) => [u.name, node.interfaces?.[u.name] ?? u.interface]),
      ),
      lan: [...site.spec.lan.interfaces],
    },
  });
}

/** The systemd unit: only the capabilities the agent needs, restarted if it dies, bpffs from systemd. */
export function renderSystemdUnit(): string {
  const caps = "CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_RESOURCE";
  return [
    "[Unit]",
    "Description=fos1-dpi node agent (eBPF, nftables, tc and ip rules from NodePrograms)",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    `ExecStart=${HOST_PATHS.wrapper} --config ${HOST_PATHS.configDir}/agent.yaml`,
    "Restart=always",
    "RestartSec=2",
    `CapabilityBoundingSet=${caps}`,
    `AmbientCapabilities=${caps}`,
    "LimitMEMLOCK=infinity",
    "NoNewPrivileges=yes",
    "ProtectHome=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** A POSIX shell word for any string. */
function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A heredoc body that cannot end early: the delimiter is chosen not to occur in the text. */
function heredoc(text: string): { delimiter: string; body: string } {
  let delimiter = "FOS1_EOF";
  while (text.split("\n").includes(delimiter)) delimiter += "_";
  return { delimiter, body: text.endsWith("\n") ? text : `${text}\n` };
}

function writeFile(variable: string, text: string): string {
  const { delimiter, body } = heredoc(text);
  return `cat > "$work/${variable}" <<'${delimiter}'\n${body}${delimiter}`;
}

/**
 * The script that installs or upgrades the agent on a plain-Linux router,
 * run over SSH as root. Pure: the same options give the same text, and it
 * holds no secret (the token and the TLS key arrive on stdin: the token's
 * line, then the key's PEM). Idempotent: a file is replaced only when its
 * content or mode differs, the agent package only when its sha256 differs,
 * and the service is restarted only when something changed; a second run
 * prints `unchanged` and touches nothing. `DESTDIR` installs into a scratch
 * root instead (no systemctl), which is how it is tested.
 */
export function renderInstallScript(options: InstallScriptOptions): string {
  const config = renderHostAgentConfig(options.site, options.node, options.port);
  const p = HOST_PATHS;
  return `#!/bin/sh
# fos1-dpi agent install/upgrade for node ${options.node} of site ${options.site.metadata.name}; rendered by @fos1/dpi.
set -eu
root="\${DESTDIR:-}"
staging=${quote(options.stagingDir)}
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
changed=0

# put MODE SOURCE PATH: installs SOURCE at PATH under the root unless it is already there with that mode (as stat prints it).
put() {
  dest="$root$3"
  if [ -f "$dest" ] && cmp -s "$2" "$dest" && [ "$(stat -c %a "$dest")" = "$1" ]; then return 0; fi
  mkdir -p "$(dirname "$dest")"
  cp "$2" "$dest.fos1-new"
  chmod "$1" "$dest.fos1-new"
  mv -f "$dest.fos1-new" "$dest"
  echo "changed $3"
  changed=1
}

# Secrets from stdin, never from the script's text: the token's line, then the TLS key.
IFS= read -r token || true
printf '%s\\n' "$token" > "$work/token"
cat > "$work/tls.key"
if [ ! -s "$work/tls.key" ] || [ "$token" = "" ]; then echo "stdin must hold the token's line, then the TLS key" >&2; exit 2; fi

${writeFile("agent.yaml", config)}
${writeFile("tls.crt", options.certificate)}
${writeFile("unit", renderSystemdUnit())}
${writeFile("wrapper", `#!/bin/sh\nexec node ${p.agentDir}/dist/agent/src/bin.js "$@"\n`)}

put 644 "$work/agent.yaml" ${p.configDir}/agent.yaml
put 644 "$work/tls.crt" ${p.configDir}/tls.crt
put 600 "$work/tls.key" ${p.configDir}/tls.key
put 600 "$work/token" ${p.configDir}/token
put 644 "$work/unit" ${p.unit}
put 755 "$work/wrapper" ${p.wrapper}
${options.bpfObjects.map((o) => `put 644 "$staging/bpf/${o}" ${p.bpfDir}/${o}`).join("\n")}
mkdir -p "$root${p.stateDir}"
chmod 0700 "$root${p.stateDir}"

# The agent package: replaced as a whole, and only when it is another package than the one installed.
sum="$(sha256sum "$staging/fos1-dpi-agent.tgz" | cut -d' ' -f1)"
stamp="$root${p.agentDir}/.package-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  mkdir -p "$root${p.agentDir}.new"
  tar -xzf "$staging/fos1-dpi-agent.tgz" -C "$root${p.agentDir}.new"
  printf '%s\\n' "$sum" > "$root${p.agentDir}.new/.package-sha256"
  chmod -R u=rwX,go=rX "$root${p.agentDir}.new"
  rm -rf "$root${p.agentDir}.old"
  if [ -d "$root${p.agentDir}" ]; then mv "$root${p.agentDir}" "$root${p.agentDir}.old"; fi
  mv "$root${p.agentDir}.new" "$root${p.agentDir}"
  rm -rf "$root${p.agentDir}.old"
  echo "changed ${p.agentDir}"
  changed=1
fi

if [ "$changed" = 0 ]; then
  echo unchanged
elif [ -n "$root" ]; then
  echo "restart ${SERVICE} (skipped: DESTDIR)"
else
  systemctl daemon-reload
  systemctl enable ${SERVICE}
  systemctl restart ${SERVICE}
  echo "restart ${SERVICE}"
fi
if [ -z "$root" ]; then systemctl is-active --quiet ${SERVICE} || systemctl start ${SERVICE}; fi
`;
}

/**
 * Stops and removes the agent; its state directory stays, so a reinstall
 * re-applies the programs it held. Run when the component is deleted.
 */
export function renderUninstallScript(): string {
  const p = HOST_PATHS;
  return `#!/bin/sh
set -eu
root="\${DESTDIR:-}"
if [ -z "$root" ]; then systemctl disable --now ${SERVICE} || true; fi
rm -f "$root${p.unit}" "$root${p.wrapper}"
rm -rf "$root${p.agentDir}" "$root${p.bpfDir}" "$root${p.configDir}"
if [ -z "$root" ]; then systemctl daemon-reload; fi
`;
}
