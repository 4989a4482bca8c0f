import { nearestApplicationNames, resolveApplications, applicationFromNdpi } from "@fos1/dpi/sdk/apps";

describe("application resolution", () => {
  it("resolves a category to every member", () => {
    expect(resolveApplications("streaming")?.map((a) => a.name)).toEqual(
      expect.arrayContaining(["youtube", "netflix"]),
    );
  });
  it("maps an nDPI master.app label to its most specific application", () => {
    expect(applicationFromNdpi("TLS.YouTube")?.name).toBe("youtube");
    expect(applicationFromNdpi("HTTP")?.name).toBe("http");
  });
  it("suggests near names for a typo", () => {
    expect(nearestApplicationNames("youtub")[0]).toBe("youtube");
  });
});
