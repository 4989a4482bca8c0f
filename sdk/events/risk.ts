import type { Severity } from "./dpi-event";

/**
 * How each engine's judgement becomes one 0..100 risk, so a single policy
 * threshold applies to every sensor. IDS signatures are the strongest evidence;
 * nDPI flow risks are hygiene findings more often than attacks, so they score lower.
 */

/** Suricata priority 1 is the most severe; rules without a classtype default to 3. */
export function riskFromSuricataSeverity(severity: number | undefined): number {
  switch (severity ?? 3) {
    case 1:
      return 90;
    case 2:
      return 60;
    case 3:
      return 30;
    default:
      return 10;
  }
}

/** A protocol or decoder anomaly: reason to keep inspecting, not evidence of an attack. */
export const ANOMALY_RISK = 20;
/** Zeek `weird`: unusual but usually benign protocol behaviour. */
export const ZEEK_WEIRD_RISK = 10;
/** Zeek `dpd`: traffic violated the protocol its analyzer expected. */
export const ZEEK_DPD_RISK = 20;
/** Suricata `drop` without an alert: the IPS already dropped the packet. */
export const SURICATA_DROP_RISK = 60;

// Notice types from Zeek's bundled policy scripts. Unlisted types get
// ZEEK_NOTICE_DEFAULT_RISK: a site script raised them, so they matter somewhat.
const ZEEK_NOTICE_RISK: Readonly<Record<string, number>> = {
  "Heartbleed::SSL_Heartbeat_Attack_Success": 100,
  "Heartbleed::SSL_Heartbeat_Attack": 90,
  "TeamCymruMalwareHashRegistry::Match": 90,
  "SSH::Password_Guessing": 80,
  "FTP::Bruteforcing": 80,
  "HTTP::SQL_Injection_Attacker": 80,
  "Signatures::Sensitive_Signature": 70,
  "Signatures::Multiple_Signatures": 70,
  "Intel::Notice": 70,
  "Scan::Address_Scan": 60,
  "Scan::Port_Scan": 60,
  "HTTP::SQL_Injection_Victim": 50,
  "Software::Vulnerable_Version": 50,
  "Heartbleed::SSL_Heartbeat_Odd_Length": 40,
  "Heartbleed::SSL_Heartbeat_Many_Requests": 40,
  "SMTP::Blocklist_Blocked_Host": 40,
  "SMTP::Suspicious_Origination": 40,
  "SSL::Invalid_Server_Cert": 30,
  "SSL::Certificate_Expired": 30,
  "SSL::Certificate_Not_Valid_Yet": 30,
  "SSL::Weak_Key": 30,
  "SSL::Old_Version": 30,
  "SSL::Weak_Cipher": 30,
  "SSH::Interesting_Hostname_Login": 30,
  "SSH::Watched_Country_Login": 30,
  "Conn::Retransmission_Inconsistency": 20,
  "Conn::Content_Gap": 10,
  "DNS::External_Name": 20,
  "Traceroute::Detected": 20,
  "Weird::Activity": 20,
  "SSL::Certificate_Expires_Soon": 10,
  "ProtocolDetector::Protocol_Found": 10,
  "ProtocolDetector::Server_Found": 10,
  "CaptureLoss::Too_Much_Loss": 0,
  "PacketFilter::Dropped_Packets": 0,
  "Notice::Tally": 0,
};
export const ZEEK_NOTICE_DEFAULT_RISK = 40;

export function riskFromZeekNotice(note: string): number {
  return ZEEK_NOTICE_RISK[note] ?? ZEEK_NOTICE_DEFAULT_RISK;
}

type NdpiRiskLevel = "low" | "medium" | "high" | "severe";
const NDPI_LEVEL_RISK: Readonly<Record<NdpiRiskLevel, number>> = {
  low: 10,
  medium: 25,
  high: 50,
  severe: 80,
};

// nDPI 4.2's flow risks in enum order (index = bit in the risk bitmap nProbe
// exports as L7_PROTO_RISK), named as ndpi_risk2str() prints them, with the
// severity ndpi_risk2severity() gives each. Read from the installed libndpi 4.2.
const NDPI_RISKS: readonly (readonly [string, NdpiRiskLevel])[] = [
  ["", "low"],
  ["XSS Attack", "severe"],
  ["SQL Injection", "severe"],
  ["RCE Injection", "severe"],
  ["Binary Application Transfer", "severe"],
  ["Known Protocol on Non Standard Port", "medium"],
  ["Self-signed Certificate", "high"],
  ["Obsolete TLS Version (1.1 or older)", "high"],
  ["Weak TLS Cipher", "high"],
  ["TLS Expired Certificate", "high"],
  ["TLS Certificate Mismatch", "high"],
  ["HTTP Suspicious User-Agent", "high"],
  ["HTTP Numeric IP Address", "low"],
  ["HTTP Suspicious URL", "high"],
  ["HTTP Suspicious Header", "high"],
  ["TLS (probably) Not Carrying HTTPS", "low"],
  ["Suspicious DGA Domain name", "high"],
  ["Malformed Packet", "low"],
  ["SSH Obsolete Client Version/Cipher", "high"],
  ["SSH Obsolete Server Version/Cipher", "medium"],
  ["SMB Insecure Version", "high"],
  ["TLS Suspicious ESNI Usage", "medium"],
  ["Unsafe Protocol", "low"],
  ["Suspicious DNS Traffic", "high"],
  ["Missing SNI TLS Extension", "medium"],
  ["HTTP Suspicious Content", "high"],
  ["Risky ASN", "medium"],
  ["Risky Domain Name", "medium"],
  ["Possibly Malicious JA3 Fingerprint", "medium"],
  ["Possibly Malicious SSL Cert. SHA1 Fingerprint", "medium"],
  ["Desktop/File Sharing Session", "low"],
  ["Uncommon TLS ALPN", "medium"],
  ["TLS Certificate Validity Too Long", "medium"],
  ["TLS Suspicious Extension", "high"],
  ["TLS Fatal Alert", "low"],
  ["Suspicious Entropy", "medium"],
  ["Clear-Text Credentials", "high"],
  ["DNS Packet Larger Than 512 bytes", "medium"],
  ["Fragmented DNS Message", "medium"],
  ["Text Contains Non-Printable Characters", "high"],
  ["Possible Exploit Detected", "severe"],
  ["TLS Certificate About To Expire", "medium"],
];
const NDPI_RISK_LEVEL = new Map(NDPI_RISKS.slice(1).map(([name, level]) => [name.toLowerCase(), level]));
/** A risk name this table does not know (a newer nDPI): treated as medium. */
const NDPI_UNKNOWN_RISK_LEVEL: NdpiRiskLevel = "medium";

/** The highest risk among nDPI flow-risk names; 0 for none. */
export function riskFromNdpiRisks(names: readonly string[]): number {
  return names.reduce(
    (max, name) =>
      Math.max(max, NDPI_LEVEL_RISK[NDPI_RISK_LEVEL.get(name.toLowerCase()) ?? NDPI_UNKNOWN_RISK_LEVEL]),
    0,
  );
}

/** nDPI risk names for the set bits of a flow-risk bitmap; unknown bits as `risk bit N`. */
export function ndpiRiskNamesFromBitmap(bitmap: bigint): string[] {
  const names: string[] = [];
  for (let bit = 1; bit < 64; bit++) {
    if ((bitmap >> BigInt(bit)) & 1n) names.push(NDPI_RISKS[bit]?.[0] ?? `risk bit ${bit}`);
  }
  return names;
}

/** nDPI's summed flow score (10 low, 50 medium, 100 high, 250 severe per risk) on the same scale, when no names are given. */
export function riskFromNdpiScore(score: number): number {
  if (score >= 250) return NDPI_LEVEL_RISK.severe;
  if (score >= 100) return NDPI_LEVEL_RISK.high;
  if (score >= 50) return NDPI_LEVEL_RISK.medium;
  if (score > 0) return NDPI_LEVEL_RISK.low;
  return 0;
}

export function severityFromRisk(risk: number): Severity {
  if (risk <= 0) return "info";
  if (risk < 40) return "low";
  if (risk < 70) return "medium";
  if (risk < 90) return "high";
  return "critical";
}
