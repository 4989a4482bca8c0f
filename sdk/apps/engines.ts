import type { Application } from "./application";
import { byNdpi, bySuricata, byZeek } from "./indexes";

/**
 * Applications that mostly carry other applications (TLS, HTTP): when an engine
 * names one of these and something more specific for the same flow, the
 * specific one wins.
 */
const CARRIERS = new Set(["http", "https"]);

/**
 * The catalog application for an nDPI label as ndpiReader prints it
 * (`TLS.YouTube`, `DNS.Google`, `HTTP`): the application side when it is known,
 * else the master protocol. Names that contain a dot themselves (`Z39.50`)
 * match whole first.
 */
export function applicationFromNdpi(label: string): Application | undefined {
  const whole = byNdpi.get(label.toLowerCase());
  if (whole) return whole;
  const dot = label.indexOf(".");
  if (dot < 0) return undefined;
  return byNdpi.get(label.slice(dot + 1).toLowerCase()) ?? byNdpi.get(label.slice(0, dot).toLowerCase());
}

/** The catalog application for a Suricata EVE `app_proto` (`tls`, `smb`); undefined for `failed`. */
export function applicationFromSuricata(appProto: string): Application | undefined {
  return bySuricata.get(appProto.trim().toLowerCase());
}

/**
 * The catalog application for a Zeek conn.log `service` value, which may list
 * several analyzers (`ssl,quic`, `gssapi,smb,dce_rpc`): the first that maps to
 * an application other than a carrier, else the first carrier.
 */
export function applicationFromZeek(service: string): Application | undefined {
  const apps = service
    .split(",")
    .map((s) => byZeek.get(s.trim().toLowerCase()))
    .filter((app): app is Application => app !== undefined);
  return apps.find((app) => !CARRIERS.has(app.name)) ?? apps[0];
}
