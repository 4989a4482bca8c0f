import { siteProgram } from "./program";

/** Stack outputs: the sensors' namespace and every program's hash per node. */
export const { namespace, programHashes } = siteProgram();
