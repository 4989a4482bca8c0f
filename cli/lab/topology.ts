import type { Site } from "../../sdk/schema";

/**
 * The lab's network, as data: network namespaces, veth links with their
 * addresses, a bridge for the LAN, routes and sysctls. Pure: `lab up` runs it,
 * `lab down` removes what it names, tests assert on it without root.
 *
 *   client, guest, wl-a, wl-b --- lan (bridge) --- router --- isp1, isp2, mpls
 *                                                   |
 *                                                  mirror veth pair (sensor side)
 *
 * Nothing links to the host's namespace. Each uplink namespace plays "the
 * internet" behind its gateway: every address is local there (AnyIP), so a
 * server listening on 0.0.0.0 answers any destination a flow was routed to.
 */
export interface LabEnd {
  readonly ns: string;
  readonly dev: string;
  readonly addresses: readonly string[];
}

export interface LabLink {
  readonly a: LabEnd;
  readonly b: LabEnd;
}

export interface LabRoute {
  readonly ns: string;
  readonly to: string;
  readonly via?: string;
  readonly dev?: string;
  readonly type?: "local";
}

export interface LabHost {
  /** The host's role: which LAN client it is and what it stands for in the report. */
  readonly name: string;
  readonly ns: string;
  readonly address: string;
  readonly address6: string;
  /** Labels a DpiSensor selector matches, as a pod's labels in a cluster. */
  readonly labels: Readonly<Record<string, string>>;
}

/** Namespace prefix of `fos1-dpi lab up` when none is given; tests use their own. */
export const DEFAULT_LAB_PREFIX = "fos1lab";

export interface LabTopology {
  readonly prefix: string;
  readonly router: string;
  readonly namespaces: readonly string[];
  readonly links: readonly LabLink[];
  readonly bridge: { readonly ns: string; readonly name: string; readonly ports: readonly string[] };
  readonly routes: readonly LabRoute[];
  readonly sysctls: readonly { readonly ns: string; readonly key: string; readonly value: string }[];
  readonly hosts: readonly LabHost[];
  /** Uplink name -> the namespace that plays the internet behind it. */
  readonly uplinks: Readonly<Record<string, string>>;
  /** The data plane clones inspected packets to `mirror.router`; the sensor listens on `mirror.sensor` (both in the router). */
  readonly mirror: { readonly router: string; readonly sensor: string };
}

/** LAN hosts: a client, a guest in the site's guest segment, two workloads of which the sensor selects one. */
const LAN_HOSTS = [
  { name: "client", v4: [1, 10], v6: "0:1::10", labels: { tier: "user" } },
  { name: "wl-a", v4: [2, 10], v6: "0:2::10", labels: { tier: "frontend", app: "shop" } },
  { name: "wl-b", v4: [3, 10], v6: "0:3::10", labels: { tier: "batch", app: "reports" } },
  { name: "guest", v4: [200, 10], v6: "0:200::10", labels: { tier: "guest" } },
] as const;

/** The router's own address on an uplink: the gateway's neighbour in its /24 (the site names only the gateway). */
function routerSide(gateway: string): string {
  const octets = gateway.split(".").map(Number);
  octets[3] = octets[3] === 2 ? 3 : 2;
  return octets.join(".");
}

/**
 * Plans the lab for a site whose LAN is one IPv4 /16 (and optionally one IPv6
 * /48) with IPv4 gateways on its uplinks, as examples/lab/site.yaml is.
 */
export function planLab(site: Site, prefix: string, mirrorInterface: string): LabTopology {
  const ns = (name: string) => `${prefix}-${name}`;
  const router = ns("router");
  const lanNs = ns("lan");
  const [v4Lan] = site.spec.lan.prefixes.filter((p) => !p.includes(":"));
  const [v6Lan] = site.spec.lan.prefixes.filter((p) => p.includes(":"));
  if (!v4Lan || !v4Lan.endsWith("/16"))
    throw new Error(`lab: site "${site.metadata.name}" needs an IPv4 /16 LAN prefix`);
  const [a, b] = v4Lan.split(".").map(Number);
  if (v6Lan && !/^[0-9a-f]+:[0-9a-f]+::\/48$/.test(v6Lan))
    throw new Error(`lab: the IPv6 LAN prefix must be a /48 such as fd00:10::/48, got ${v6Lan}`);
  const v6Base = v6Lan?.split("::")[0];
  const lanDev = site.spec.lan.interfaces[0];

  const links: LabLink[] = [
    {
      a: { ns: router, dev: lanDev, addresses: [`${a}.${b}.0.1/16`, ...(v6Base ? [`${v6Base}::1/48`] : [])] },
      b: { ns: lanNs, dev: "p-router", addresses: [] },
    },
  ];
  const hosts: LabHost[] = [];
  const routes: LabRoute[] = [];
  for (const h of LAN_HOSTS) {
    const hostNs = ns(h.name);
    const address = `${a}.${b}.${h.v4[0]}.${h.v4[1]}`;
    const address6 = v6Base ? `${v6Base}:${h.v6}` : "";
    links.push({
      a: { ns: hostNs, dev: "eth0", addresses: [`${address}/16`, ...(v6Base ? [`${address6}/48`] : [])] },
      b: { ns: lanNs, dev: `p-${h.name}`, addresses: [] },
    });
    hosts.push({ name: h.name, ns: hostNs, address, address6, labels: h.labels });
    routes.push({ ns: hostNs, to: "default", via: `${a}.${b}.0.1` });
    if (v6Base) routes.push({ ns: hostNs, to: "::/0", via: `${v6Base}::1` });
  }

  const uplinks: Record<string, string> = {};
  for (const u of site.spec.uplinks) {
    const uplinkNs = ns(u.name);
    uplinks[u.name] = uplinkNs;
    links.push({
      a: { ns: router, dev: u.interface, addresses: [`${routerSide(u.gateway)}/24`] },
      b: { ns: uplinkNs, dev: "eth0", addresses: [`${u.gateway}/24`] },
    });
    routes.push({ ns: uplinkNs, to: "0.0.0.0/0", dev: "lo", type: "local" });
    routes.push({ ns: uplinkNs, to: v4Lan, via: routerSide(u.gateway) });
  }
  const defaultUplink = site.spec.uplinks.find((u) => u.default) ?? site.spec.uplinks[0];
  routes.push({ ns: router, to: "default", via: defaultUplink.gateway });

  const mirror = { router: mirrorInterface, sensor: `${mirrorInterface.slice(0, 11)}-s` };
  links.push({
    a: { ns: router, dev: mirror.router, addresses: [] },
    b: { ns: router, dev: mirror.sensor, addresses: [] },
  });

  const namespaces = [router, lanNs, ...hosts.map((h) => h.ns), ...Object.values(uplinks)];
  return {
    prefix,
    router,
    namespaces,
    links,
    bridge: { ns: lanNs, name: "br0", ports: links.filter((l) => l.b.ns === lanNs).map((l) => l.b.dev) },
    routes,
    sysctls: [
      { ns: router, key: "net.ipv4.ip_forward", value: "1" },
      { ns: router, key: "net.ipv6.conf.all.forwarding", value: "1" },
      // Replies to flows routed out of a non-default uplink come back through it.
      { ns: router, key: "net.ipv4.conf.all.rp_filter", value: "0" },
    ],
    hosts,
    uplinks,
    mirror,
  };
}
