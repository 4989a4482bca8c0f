import {
  applicationFromHost,
  applicationFromNdpi,
  applicationFromSuricata,
  applicationFromZeek,
  knownApplicationNames,
  lookupApplication,
  nearestApplicationNames,
  resolveApplications,
} from "@fos1/dpi/sdk/apps";

// Every application name the DESIGN.md policies use, and the engine names each must reach.
const designNames: Record<string, { ndpi: string[]; suricata: string[]; zeek: string[] }> = {
  sip: { ndpi: ["SIP"], suricata: ["sip"], zeek: ["sip"] },
  rtp: { ndpi: ["RTP"], suricata: [], zeek: [] },
  skype: { ndpi: ["SkypeCall"], suricata: [], zeek: [] },
  teams: { ndpi: ["Teams"], suricata: [], zeek: [] },
  zoom: { ndpi: ["Zoom"], suricata: [], zeek: [] },
  http: { ndpi: ["HTTP"], suricata: ["http"], zeek: ["http"] },
  https: { ndpi: ["TLS"], suricata: ["tls"], zeek: ["ssl"] },
  bittorrent: { ndpi: ["BitTorrent"], suricata: ["bittorrent-dht"], zeek: ["bittorrent"] },
  ftp: { ndpi: ["FTP_CONTROL", "FTP_DATA"], suricata: ["ftp", "ftp-data"], zeek: ["ftp", "ftp-data"] },
  netflix: { ndpi: ["NetFlix"], suricata: [], zeek: [] },
  youtube: { ndpi: ["YouTube"], suricata: [], zeek: [] },
  spotify: { ndpi: ["Spotify"], suricata: [], zeek: [] },
  salesforce: { ndpi: ["Salesforce"], suricata: [], zeek: [] },
  office365: { ndpi: ["Microsoft365"], suricata: [], zeek: [] },
  webex: { ndpi: ["Webex"], suricata: [], zeek: [] },
};

describe("DESIGN.md application names", () => {
  it.each(Object.entries(designNames))("%s resolves to its engine names", (name, engines) => {
    const [app] = resolveApplications(name) ?? [];
    expect(app?.name).toBe(name);
    expect(app?.ndpi).toEqual(expect.arrayContaining(engines.ndpi));
    expect(app?.suricata).toEqual(expect.arrayContaining(engines.suricata));
    expect(app?.zeek).toEqual(expect.arrayContaining(engines.zeek));
    for (const n of engines.ndpi) expect(applicationFromNdpi(n)).toBe(app);
    for (const n of engines.suricata) expect(applicationFromSuricata(n)).toBe(app);
    for (const n of engines.zeek) expect(applicationFromZeek(n)).toBe(app);
  });

  it("resolves the storage category of the bulk class", () => {
    expect(resolveApplications("storage")?.length).toBeGreaterThan(1);
  });
});

describe("name resolution", () => {
  it("resolves aliases and ignores case", () => {
    expect(lookupApplication("Microsoft365")?.name).toBe("office365");
    expect(lookupApplication("YouTube")?.name).toBe("youtube");
    expect(resolveApplications("STREAMING")?.map((a) => a.name)).toEqual(
      expect.arrayContaining(["youtube", "netflix", "spotify"]),
    );
  });

  it("is undefined for an unknown name", () => {
    expect(resolveApplications("youtub")).toBeUndefined();
    expect(lookupApplication("storage")).toBeUndefined();
  });

  it("lists applications, aliases and categories as known names, sorted", () => {
    const names = knownApplicationNames();
    expect(names).toEqual(
      expect.arrayContaining(["netflix", "prime-video", "storage", "video-conferencing"]),
    );
    expect(names).toEqual([...names].sort());
  });
});

describe("nearest names for a typo", () => {
  it.each([
    ["youtub", "youtube"],
    ["netflx", "netflix"],
    ["offce365", "office365"],
    ["bittorent", "bittorrent"],
    ["storag", "storage"],
    ["salesforse", "salesforce"],
    ["spotfy", "spotify"],
    ["whatsap", "whatsapp"],
    ["yuotube", "youtube"],
    ["spotfiy", "spotify"],
    ["zoon", "zoom"],
    ["wireguad", "wireguard"],
  ])("%s suggests %s first", (typo, expected) => {
    expect(nearestApplicationNames(typo)[0]).toBe(expected);
  });

  it("offers both readings of an ambiguous typo", () => {
    expect(nearestApplicationNames("webx").slice(0, 2).sort()).toEqual(["web", "webex"]);
  });

  it("returns the requested number of suggestions", () => {
    expect(nearestApplicationNames("zom", 5)).toHaveLength(5);
    expect(nearestApplicationNames("zom")).toContain("zoom");
  });
});

describe("engine names to applications", () => {
  it("maps an nDPI master.app label to its most specific known side", () => {
    expect(applicationFromNdpi("TLS.YouTube")?.name).toBe("youtube");
    expect(applicationFromNdpi("STUN.SkypeCall")?.name).toBe("skype");
    expect(applicationFromNdpi("TLS.ntop")?.name).toBe("https");
    expect(applicationFromNdpi("HTTP")?.name).toBe("http");
    expect(applicationFromNdpi("Unknown")).toBeUndefined();
  });

  it("maps Suricata app_proto and leaves failed detection unmapped", () => {
    expect(applicationFromSuricata("tls")?.name).toBe("https");
    expect(applicationFromSuricata("smb2")?.name).toBe("smb");
    expect(applicationFromSuricata("ike")?.name).toBe("ipsec");
    expect(applicationFromSuricata("failed")).toBeUndefined();
  });

  it("maps a Zeek service list to its most specific application", () => {
    expect(applicationFromZeek("ssl")?.name).toBe("https");
    expect(applicationFromZeek("ssl,quic")?.name).toBe("quic");
    expect(applicationFromZeek("gssapi,smb,dce_rpc")?.name).toBe("smb");
    expect(applicationFromZeek("http,websocket")?.name).toBe("http");
    expect(applicationFromZeek("ntlm")).toBeUndefined();
    expect(applicationFromZeek("")).toBeUndefined();
  });
});

describe("host names to applications", () => {
  it.each([
    ["ios.nccp.netflix.com", "netflix"],
    ["occ-0-1-2.1.nflxso.net", "netflix"],
    ["rr3---sn-4g5e6nze.googlevideo.com", "youtube"],
    ["mail.google.com", "gmail"],
    ["www.google.com", "google"],
    ["drive.google.com", "google-drive"],
    ["zoomsjccv154mmr.sjc.zoom.us", "zoom"],
    ["*.sjc.zoom.us", "zoom"],
    ["NA123.Salesforce.COM.", "salesforce"],
    ["outlook.office365.com", "office365"],
    ["eur.protection.outlook.com", "office365"],
    ["outlook.live.com", "outlook"],
    ["teams.microsoft.com", "teams"],
    ["www.microsoft.com", "microsoft"],
    ["radcom.webex.com:443", "webex"],
    ["dns.google", "doh"],
  ])("%s is %s", (host, expected) => {
    expect(applicationFromHost(host)?.name).toBe(expected);
  });

  it.each([
    "example.org",
    "com",
    "23.246.11.141",
    "[2001:db8::1]:443",
    "2001:db8::1",
    "",
    "netflix.com.evil.example",
  ])("%j maps to nothing", (host) => {
    expect(applicationFromHost(host)).toBeUndefined();
  });

  it("does not match a domain that merely ends in the same letters", () => {
    expect(applicationFromHost("notnetflix.com")).toBeUndefined();
  });
});
