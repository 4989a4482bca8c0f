import { isIP } from "node:net";
import { z } from "zod";

/** Field types engines write, shared by the engine record schemas. */
export const ipText = z.string().refine((s) => isIP(s) !== 0, "expected an IPv4 or IPv6 address");
export const portNumber = z.number().int().min(0).max(65535);
export const unsigned = z.number().int().nonnegative();
