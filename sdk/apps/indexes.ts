import type { Application } from "./application";
import { APPLICATIONS } from "./catalog";
import type { CategoryName } from "./categories";

/** Lookup tables over the catalog, built once; keys are lower-case. */
export const byName = new Map<string, Application>();
export const byId = new Map<number, Application>();
export const byCategory = new Map<CategoryName, Application[]>();
export const byNdpi = new Map<string, Application>();
export const bySuricata = new Map<string, Application>();
export const byZeek = new Map<string, Application>();
export const byDomain = new Map<string, Application>();

for (const app of APPLICATIONS) {
  for (const name of [app.name, ...(app.aliases ?? [])]) byName.set(name.toLowerCase(), app);
  byId.set(app.id, app);
  byCategory.set(app.category, [...(byCategory.get(app.category) ?? []), app]);
  for (const n of app.ndpi) byNdpi.set(n.toLowerCase(), app);
  for (const n of app.suricata) bySuricata.set(n.toLowerCase(), app);
  for (const n of app.zeek) byZeek.set(n.toLowerCase(), app);
  for (const d of app.domains ?? []) byDomain.set(d.toLowerCase(), app);
}
