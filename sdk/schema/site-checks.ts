import type { Fos1Document } from "./documents";
import type { Problem } from "./problem";
import { DEFAULT_INTERNET } from "./routing-policy";
import type { Site } from "./site";

/**
 * What a policy says about a site that only the site can confirm: uplinks
 * and segments it names must exist there. Problems have document paths.
 */
export function checkAgainstSite(document: Fos1Document, site: Site): Problem[] {
  const uplinks = site.spec.uplinks.map((u) => u.name);
  const segments = site.spec.segments.map((s) => s.name);
  const problems: Problem[] = [];
  const unknown = (path: string, what: string, value: string, known: string[]) =>
    problems.push({
      path,
      message: `${what} "${value}" is not defined on site "${site.metadata.name}"; known: ${known.join(", ") || "(none)"}`,
    });

  switch (document.kind) {
    case "RoutingPolicy":
      document.spec.rules.forEach((rule, i) => {
        const via = rule.action.routeVia;
        if (via !== DEFAULT_INTERNET && !uplinks.includes(via)) {
          unknown(`spec.rules[${i}].action.routeVia`, "uplink", via, [...uplinks, DEFAULT_INTERNET]);
        }
        if (rule.networkSegment && !segments.includes(rule.networkSegment)) {
          unknown(`spec.rules[${i}].networkSegment`, "segment", rule.networkSegment, segments);
        }
      });
      break;
    case "QoSPolicy":
      document.spec.uplinks?.forEach((name, i) => {
        if (!uplinks.includes(name)) unknown(`spec.uplinks[${i}]`, "uplink", name, uplinks);
      });
      break;
    case "FirewallPolicy":
      document.spec.applicationControl.forEach((rule, i) =>
        rule.networkSegments?.forEach((name, j) => {
          if (!segments.includes(name))
            unknown(`spec.applicationControl[${i}].networkSegments[${j}]`, "segment", name, segments);
        }),
      );
      break;
    default:
      break;
  }
  return problems;
}
