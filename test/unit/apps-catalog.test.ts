import { z } from "zod";
import {
  APPLICATIONS,
  CATEGORIES,
  applicationById,
  applicationsInCategory,
  lookupApplication,
  resolveApplications,
} from "@fos1/dpi/sdk/apps";

const kebab = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const domain = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$/;

const entrySchema = z.strictObject({
  name: z.string().regex(kebab),
  id: z.number().int().min(1).max(65534),
  category: z.enum(CATEGORIES.map((c) => c.name) as [string, ...string[]]),
  ndpi: z.array(z.string().min(1)),
  suricata: z.array(z.string().regex(/^[a-z0-9]+([-_][a-z0-9]+)*$/)),
  zeek: z.array(z.string().regex(/^[a-z0-9]+([-_][a-z0-9]+)*$/)),
  aliases: z.array(z.string().regex(kebab)).min(1).optional(),
  domains: z.array(z.string().regex(domain)).min(1).optional(),
});

/** Values that occur more than once, so a failure names the offenders. */
function duplicates<T>(values: readonly T[]): T[] {
  return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}

describe("application catalog data", () => {
  it("holds between 60 and 140 applications", () => {
    expect(APPLICATIONS.length).toBeGreaterThanOrEqual(60);
    expect(APPLICATIONS.length).toBeLessThanOrEqual(140);
  });

  it("has well-formed entries", () => {
    const problems = APPLICATIONS.flatMap((app, i) => {
      const result = entrySchema.safeParse(app);
      return result.success
        ? []
        : result.error.issues.map(
            (issue) => `APPLICATIONS[${i}] (${app.name}).${issue.path.join(".")}: ${issue.message}`,
          );
    });
    expect(problems).toEqual([]);
  });

  it("gives every application a unique id that finds it again", () => {
    expect(duplicates(APPLICATIONS.map((a) => a.id))).toEqual([]);
    for (const app of APPLICATIONS) expect(applicationById(app.id)).toBe(app);
  });

  it("keeps the ids the first catalog published", () => {
    const published = {
      http: 1,
      https: 2,
      sip: 3,
      rtp: 4,
      ftp: 5,
      bittorrent: 6,
      youtube: 7,
      netflix: 8,
      dropbox: 9,
    };
    for (const [name, id] of Object.entries(published)) expect(lookupApplication(name)?.id).toBe(id);
  });

  it("never lets two applications, aliases or categories share a name", () => {
    const names = [
      ...APPLICATIONS.flatMap((a) => [a.name, ...(a.aliases ?? [])]),
      ...CATEGORIES.map((c) => c.name),
    ];
    expect(duplicates(names)).toEqual([]);
  });

  it("gives each engine name and each domain to one application only", () => {
    expect(duplicates(APPLICATIONS.flatMap((a) => a.ndpi.map((n) => n.toLowerCase())))).toEqual([]);
    expect(duplicates(APPLICATIONS.flatMap((a) => a.suricata))).toEqual([]);
    expect(duplicates(APPLICATIONS.flatMap((a) => a.zeek))).toEqual([]);
    expect(duplicates(APPLICATIONS.flatMap((a) => a.domains ?? []))).toEqual([]);
  });

  it("names every application in at least one engine", () => {
    const silent = APPLICATIONS.filter((a) => a.ndpi.length + a.suricata.length + a.zeek.length === 0);
    expect(silent.map((a) => a.name)).toEqual([]);
  });
});

describe("categories", () => {
  it.each(CATEGORIES.map((c) => c.name))("%s resolves to a non-empty set of its members", (name) => {
    const members = resolveApplications(name);
    expect(members?.length).toBeGreaterThan(0);
    expect(members).toEqual(applicationsInCategory(name));
    expect(new Set(members?.map((a) => a.category))).toEqual(new Set([name]));
  });

  it("partitions the catalog: each application is in exactly one category", () => {
    const total = CATEGORIES.reduce((sum, c) => sum + applicationsInCategory(c.name).length, 0);
    expect(total).toBe(APPLICATIONS.length);
  });

  it("puts the storage services of DESIGN.md's bulk class under storage", () => {
    expect(resolveApplications("storage")?.map((a) => a.name)).toEqual(
      expect.arrayContaining(["dropbox", "google-drive", "onedrive", "icloud"]),
    );
  });
});
