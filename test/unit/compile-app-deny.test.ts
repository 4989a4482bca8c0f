import { readFileSync } from "node:fs";
import { join } from "node:path";
import { lookupApplication } from "@fos1/dpi/sdk/apps";
import { compileSite, isPolicyDocument } from "@fos1/dpi/sdk/compile";
import { loadYamlDocuments, type Site } from "@fos1/dpi/sdk/schema";

const root = join(__dirname, "..", "..");
const site = loadYamlDocuments(readFileSync(join(root, "examples/sites/branch.yaml"), "utf8"), "branch.yaml")
  .documents[0]!.document as Site;

function denyEntries(rules: string) {
  const yaml = `apiVersion: networking.fos1.io/v1
kind: FirewallPolicy
metadata: { name: ad }
spec:
  applicationControl:
${rules}`;
  const { documents, problems } = loadYamlDocuments(yaml, "firewall.yaml");
  expect(problems).toEqual([]);
  const { programs } = compileSite(documents.map((d) => d.document).filter(isPolicyDocument), site);
  const program = programs.find((p) => p.metadata.node === "router-1")!;
  return (program.spec.maps.fos1_app_deny ?? []).map((e) => [e.key.segment_id, e.key.app_id, e.value.rule]);
}

const id = (name: string) => lookupApplication(name)!.id;

describe("the kernel's application-control deny map", () => {
  it("holds exactly the (segment, application) pairs whose first matching rule denies", () => {
    // Guests may use BitTorrent; nobody else may; SSH is denied to guests only.
    expect(
      denyEntries(`    - { name: guests-may-torrent, applications: [bittorrent], networkSegments: [guest], action: allow }
    - { name: no-p2p, applications: [bittorrent], action: deny }
    - { name: no-ssh-for-guests, applications: [ssh], networkSegments: [guest], action: deny }
`),
    ).toEqual([
      [0, id("bittorrent"), 2],
      [1, id("ssh"), 3],
    ]);
  });

  it("an allow after a deny changes nothing; no deny, no entries", () => {
    expect(
      denyEntries(`    - { name: no-p2p, applications: [bittorrent], action: deny }
    - { name: late-allow, applications: [bittorrent], networkSegments: [guest], action: allow }
`),
    ).toEqual([
      [0, id("bittorrent"), 1],
      [1, id("bittorrent"), 1],
    ]);
    expect(denyEntries(`    - { name: ok, applications: [ssh], action: allow }\n`)).toEqual([]);
  });
});
