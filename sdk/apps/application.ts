import type { CategoryName } from "./categories";

/**
 * An application as fos1-dpi policies name it, and the names each inspection
 * engine gives the same traffic. Policies speak catalog names; sensors report
 * engine names; the catalog is the one place that joins the two.
 */
export interface Application {
  /** Catalog name used in policies, lower-case kebab (`office365`, `google-drive`). */
  readonly name: string;
  /** Stable numeric id carried in eBPF maps and flow entries (1..65534; never reused). */
  readonly id: number;
  /** Catalog category (`storage`, `streaming`, `voip`, ...): a policy may name it to mean every member. */
  readonly category: CategoryName;
  /** nDPI 4.2 protocol names (as `ndpiReader -a 0` lists them; matched against either side of `Master.App`). */
  readonly ndpi: readonly string[];
  /** Suricata app-layer protocol names (`app_proto` in EVE); empty when Suricata has no parser for it. */
  readonly suricata: readonly string[];
  /** Zeek service names (`service` in conn.log, analyzer names lower-cased); empty when Zeek has none. */
  readonly zeek: readonly string[];
  /** Other names people use for it; they resolve to this application. */
  readonly aliases?: readonly string[];
  /**
   * DNS suffixes the service is reached under (`nflxvideo.net` matches `a.b.nflxvideo.net`),
   * so DNS answers, TLS SNI and HTTP Host map to it before DPI has seen a packet.
   */
  readonly domains?: readonly string[];
}
