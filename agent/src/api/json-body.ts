import type { IncomingMessage } from "node:http";

/** Why a body was not read; the server answers with `status`. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = "BodyError";
  }
}

/**
 * Reads a JSON request body of at most `limit` bytes as it arrived,
 * refusing other media types before reading. The bytes are kept: the agent
 * stores a program as it was sent and knows a repeated PUT by them.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new BodyError(415, `content-type must be application/json, got "${type || "(none)"}"`);
  }
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) throw new BodyError(413, `body of ${declared} bytes exceeds the ${limit}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyError(413, `body exceeds the ${limit}-byte limit`);
    chunks.push(chunk);
  }
  if (size === 0) throw new BodyError(400, "empty body");
  return Buffer.concat(chunks, size);
}

/** The JSON value of a body read by `readJsonBody`. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new BodyError(400, `body is not JSON: ${(error as Error).message}`);
  }
}
