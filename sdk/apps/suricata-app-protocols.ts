/**
 * The app-layer protocol names Suricata writes in EVE `app_proto`
 * (`app_proto_ts`, `app_proto_tc`, `app_proto_orig`), across 4.x to 8.x: names
 * were renamed over time (`ikev2` became `ike` in 6.0; 4.0 reported SMB2 as
 * `smb2` before one `smb` parser covered all versions), and sensors of mixed
 * versions report to one agent. `failed` means detection gave up on the flow.
 */
export const SURICATA_APP_PROTOCOLS: readonly string[] = [
  "bittorrent-dht",
  "dcerpc",
  "dhcp",
  "dnp3",
  "dns",
  "doh2",
  "enip",
  "failed",
  "ftp",
  "ftp-data",
  "http",
  "http2",
  "ike",
  "ikev2",
  "imap",
  "irc",
  "jabber",
  "krb5",
  "ldap",
  "modbus",
  "mqtt",
  "msn",
  "nfs",
  "ntp",
  "pgsql",
  "pop3",
  "quic",
  "rdp",
  "rfb",
  "sip",
  "smb",
  "smb2",
  "smtp",
  "snmp",
  "ssh",
  "telnet",
  "tftp",
  "tls",
  "websocket",
];
