import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** The checkout the CLI runs from: the directory holding examples/lab (two levels up from source, three from dist). */
export function repoRoot(): string {
  for (const up of ["../..", "../../.."]) {
    const dir = resolve(__dirname, up);
    if (existsSync(join(dir, "examples", "lab", "site.yaml"))) return dir;
  }
  throw new Error("lab: cannot find examples/lab/site.yaml above the CLI; run it from a fos1-dpi checkout");
}

/** The nDPI test captures: $FOS1_TESTDATA/ndpi/pcap, else the corpus beside the checkout. */
export function defaultCaptureDir(root: string): string {
  const testdata = process.env.FOS1_TESTDATA ?? resolve(root, "..", "shared", "testdata");
  return join(testdata, "ndpi", "pcap");
}

/** Where a lab keeps what `lab report` and `lab down` need. */
export function stateDirOf(prefix: string): string {
  return join(process.env.FOS1_LAB_STATE ?? "/run/fos1-dpi-lab", prefix);
}
