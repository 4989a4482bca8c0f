import { parentPort } from "node:worker_threads";
import { hashMatches } from "../../../sdk/compile/node-program";
import type { HashRequest, HashAnswer } from "./hash-check";
import { parseProgramBody } from "./program-body";

/**
 * The hash check of PUT bodies, off the API's thread (HashCheck). A body is
 * parsed and validated exactly as the server does it, so the hash is over
 * the same validated program; a body that is not one answers `undefined`.
 */
parentPort!.on("message", ({ id, body }: HashRequest) => {
  let matches: boolean | undefined;
  try {
    const parsed = parseProgramBody(
      JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.length).toString()),
    );
    matches = parsed.success ? hashMatches(parsed.data) : undefined;
  } catch {
    matches = undefined;
  }
  const answer: HashAnswer = { id, matches };
  parentPort!.postMessage(answer);
});
