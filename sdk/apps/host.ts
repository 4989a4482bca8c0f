import type { Application } from "./application";
import { byDomain } from "./indexes";

/**
 * The catalog application a DNS name belongs to (a DNS question or answer, a
 * TLS SNI, an HTTP Host, a certificate name like `*.sjc.zoom.us`), by the
 * longest matching domain suffix, so `mail.google.com` is gmail while
 * `www.google.com` is google. Undefined for IP literals and unknown names.
 */
export function applicationFromHost(sniOrHost: string): Application | undefined {
  const labels = normaliseHost(sniOrHost).split(".");
  for (let i = 0; i < labels.length; i++) {
    const app = byDomain.get(labels.slice(i).join("."));
    if (app) return app;
  }
  return undefined;
}

/** The bare DNS name in an SNI, Host header or certificate name; empty for address literals, which name no service. */
function normaliseHost(raw: string): string {
  const host = raw.trim().toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "").replace(/^\*\./, "");
  return /^[\d.]+$/.test(host) || host.includes(":") || host.startsWith("[") ? "" : host;
}
