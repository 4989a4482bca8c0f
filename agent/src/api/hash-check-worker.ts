import { parentPort } from "node:worker_threads";
import { hashMatches } from "../../../sdk/compile/node-program";
import type { HashAnswer, HashRequest } from "./hash-check";
import { parseProgramBody } from "./program-body";

/**
 * The hash check of PUT bodies, off the API's thread (HashCheck). A body is
 * parsed and validated exactly as the server does it, so the hash is over
 * the same validated program; a body that is not one answers `undefined`.
 */
parentPort!.on("message", ({ id, body }: HashRequest) => {
  let matches: boolean | undefined;
  try {
    const text = Buffer.from(body.buffer, body.byteOffset, body.length).toString();
    const parsed = parseProgramBody(JSON.parse(text));
    matches = parsed.success ? hashMatches(parsed.data) : undefined;
  } catch {
    matches = undefined;
  }
  const answer: HashAnswer = { id, matches };
  parentPort!.postMessage(answer);
});

const ready: HashAnswer = { ready: true };
parentPort!.postMessage(ready);
