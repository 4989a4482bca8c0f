import { isIP } from "node:net";
import { z } from "zod";

/** Field types engines write, shared by the engine record schemas. */
export const ipText = z.string().refine((s) => isIP(s) !== 0, "expected an IPv4 or IPv6 address");
export const portNumber = z.number().int().min(0).max(65535);
export const unsigned = z.number().int().nonnegative();
/** Engine flow ids are u64: past 2^53 JSON.parse rounds them, so only integrality is checked here and the text is kept (numberText). */
export const flowIdNumber = z.number().nonnegative().refine(Number.isInteger, "expected an integer");
