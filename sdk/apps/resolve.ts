import type { Application } from "./application";
import { APPLICATIONS } from "./catalog";

const byName = new Map<string, Application>();
const byId = new Map<number, Application>();
const byCategory = new Map<string, Application[]>();
const byNdpi = new Map<string, Application>();

for (const app of APPLICATIONS) {
  for (const name of [app.name, ...(app.aliases ?? [])]) byName.set(name, app);
  byId.set(app.id, app);
  byCategory.set(app.category, [...(byCategory.get(app.category) ?? []), app]);
  for (const n of app.ndpi) byNdpi.set(n.toLowerCase(), app);
}

/** Every name a policy may use: applications, their aliases and categories, sorted. */
export function knownApplicationNames(): string[] {
  return [...new Set([...byName.keys(), ...byCategory.keys()])].sort();
}

/** The application a catalog name (or alias) denotes, if any. */
export function lookupApplication(name: string): Application | undefined {
  return byName.get(name.toLowerCase());
}

export function applicationById(id: number): Application | undefined {
  return byId.get(id);
}

/**
 * What a name in a policy's `applications` list stands for: one application, or
 * every member of a category (`storage`). An application name wins over a
 * category of the same name. Undefined for an unknown name.
 */
export function resolveApplications(name: string): readonly Application[] | undefined {
  const app = lookupApplication(name);
  if (app) return [app];
  return byCategory.get(name.toLowerCase());
}

/**
 * The catalog application for an nDPI label as ndpiReader prints it
 * (`TLS.YouTube`, `DNS.Google`, `HTTP`): the most specific side that is known.
 */
export function applicationFromNdpi(label: string): Application | undefined {
  const parts = label.split(".").reverse();
  for (const part of parts) {
    const app = byNdpi.get(part.toLowerCase());
    if (app) return app;
  }
  return undefined;
}

/** The known names closest to `name` (edit distance, then prefix), for error messages. */
export function nearestApplicationNames(name: string, count = 3): string[] {
  const wanted = name.toLowerCase();
  return knownApplicationNames()
    .map((candidate) => ({
      candidate,
      score: distance(wanted, candidate) - (candidate.startsWith(wanted) ? 1 : 0),
    }))
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, count)
    .map((s) => s.candidate);
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
