import { bearerTokenCheck } from "@fos1/dpi/agent/src/api/bearer-token";

describe("bearer token check", () => {
  const token = "s3cr3t-token-0123456789";
  const check = bearerTokenCheck(token);

  it("accepts exactly `Bearer <token>`", () => {
    expect(check(`Bearer ${token}`)).toBe(true);
  });

  it.each([
    ["no header", undefined],
    ["empty header", ""],
    ["bare token", token],
    ["another scheme", `Basic ${token}`],
    ["lower-case scheme", `bearer ${token}`],
    ["a prefix of the token", `Bearer ${token.slice(0, -1)}`],
    ["the token and more", `Bearer ${token}x`],
    ["two spaces", `Bearer  ${token}`],
    ["trailing space", `Bearer ${token} `],
    ["empty token", "Bearer "],
    ["a token with a newline", `Bearer ${token}\n`],
  ])("rejects %s", (_, header) => {
    expect(check(header)).toBe(false);
  });
});
