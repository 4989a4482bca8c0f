import { execFileSync } from "node:child_process";
import { join } from "node:path";

export interface SelfSignedOptions {
  /** The certificate's common name. */
  readonly name: string;
  readonly days: number;
  /** IP addresses besides 127.0.0.1 the certificate is valid for. @default none */
  readonly addresses?: readonly string[];
  /** File name prefix in `dir` (`agent-` gives agent-cert.pem, agent-key.pem). @default none */
  readonly prefix?: string;
}

/**
 * A self-signed P-256 certificate and key for loopback (and `addresses`),
 * made with Debian's openssl: what the lab's agent and the tests' agents
 * serve their HTTPS API with.
 */
export function selfSignedTls(dir: string, o: SelfSignedOptions): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${o.prefix ?? ""}cert.pem`);
  const keyFile = join(dir, `${o.prefix ?? ""}key.pem`);
  const san = ["IP:127.0.0.1", "DNS:localhost", ...(o.addresses ?? []).map((a) => `IP:${a}`)].join(",");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      String(o.days),
      "-subj",
      `/CN=${o.name}`,
      "-addext",
      `subjectAltName=${san}`,
    ],
    { stdio: "ignore" },
  );
  return { certFile, keyFile };
}
