import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Checks `Authorization: Bearer <token>` in constant time. Both sides are
 * hashed first so that the comparison's length, and therefore its time, does
 * not depend on how much of the token a caller guessed.
 */
export function bearerTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(authorization ?? "");
    return timingSafeEqual(digest(match?.[1] ?? ""), expected) && match !== null;
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
