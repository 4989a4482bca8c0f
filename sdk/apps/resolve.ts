import type { Application } from "./application";
import { CATEGORIES, type CategoryName } from "./categories";
import { byCategory, byId, byName } from "./indexes";

/** Every name a policy may use: applications, their aliases and categories, sorted. */
export function knownApplicationNames(): string[] {
  return [...new Set([...byName.keys(), ...CATEGORIES.map((c) => c.name)])].sort();
}

/** The application a catalog name (or alias) denotes, if any. */
export function lookupApplication(name: string): Application | undefined {
  return byName.get(name.toLowerCase());
}

export function applicationById(id: number): Application | undefined {
  return byId.get(id);
}

/** Every application of a category, in catalog order; empty for an unknown category. */
export function applicationsInCategory(category: CategoryName): readonly Application[] {
  return byCategory.get(category) ?? [];
}

/**
 * What a name in a policy's `applications` list stands for: one application, or
 * every member of a category (`storage`). Application names and category names
 * never collide (the catalog tests hold it). Undefined for an unknown name.
 */
export function resolveApplications(name: string): readonly Application[] | undefined {
  const app = lookupApplication(name);
  if (app) return [app];
  const category = CATEGORIES.find((c) => c.name === name.toLowerCase());
  return category ? applicationsInCategory(category.name) : undefined;
}

/**
 * The known names closest to `name`, for error messages: fewest edits (a swap of
 * two neighbouring letters counts as one, the commonest typo), a name that starts
 * with what was typed first among equals.
 */
export function nearestApplicationNames(name: string, count = 3): string[] {
  const wanted = name.toLowerCase();
  return knownApplicationNames()
    .map((candidate) => ({
      candidate,
      score: editDistance(wanted, candidate) - (candidate.startsWith(wanted) ? 1 : 0),
    }))
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, count)
    .map((s) => s.candidate);
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
