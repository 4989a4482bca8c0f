/**
 * An application as fos1-dpi policies name it, and the names each inspection
 * engine gives the same traffic. Policies speak catalog names; sensors report
 * engine names; the catalog is the one place that joins the two.
 */
export interface Application {
  /** Catalog name used in policies, lower-case kebab (`office365`, `ms-teams`). */
  readonly name: string;
  /** Stable numeric id carried in eBPF maps and flow entries (1..65534; never reused). */
  readonly id: number;
  /** Catalog category (`storage`, `streaming`, `voip`, ...): a policy may name it to mean every member. */
  readonly category: string;
  /** nDPI protocol names (as `ndpiReader -a 0` lists them; matched against either side of `Master.App`). */
  readonly ndpi: readonly string[];
  /** Suricata app-layer protocol names (`app_proto` in EVE). */
  readonly suricata: readonly string[];
  /** Zeek service names (`service` in conn.log, analyzer names lower-cased). */
  readonly zeek: readonly string[];
  /** Other names people use for it; they resolve to this application. */
  readonly aliases?: readonly string[];
}
