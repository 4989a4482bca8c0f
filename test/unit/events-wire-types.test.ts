import fc from "fast-check";
import { isIP } from "node:net";
import { isIpAddress } from "@fos1/dpi/sdk/events/wire-types";

describe("isIpAddress", () => {
  it("agrees with node's isIP on addresses, near-addresses and arbitrary text", () => {
    const octet = fc.oneof(
      fc.nat(300).map(String),
      fc.constantFrom("00", "01", "000", "256", "", "1a", "0", " 1"),
    );
    const nearV4 = fc
      .tuple(fc.array(octet, { minLength: 1, maxLength: 6 }), fc.constantFrom(".", ":", ".."))
      .map(([octets, sep]) => octets.join(sep));
    fc.assert(
      fc.property(fc.oneof(nearV4, fc.string(), fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (text) => {
        expect(isIpAddress(text)).toBe(isIP(text) !== 0);
      }),
      { numRuns: 20000 },
    );
  });
});
