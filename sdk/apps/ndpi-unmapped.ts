/**
 * nDPI protocol names the catalog maps to no application on purpose, with the
 * reason. A flow labelled only with these has no application a policy could name.
 */
export const NDPI_UNMAPPED: Readonly<Record<string, string>> = {
  Unknown: "nDPI could not classify the flow",
  IGMP: "multicast group-membership signalling of the network itself, not an application",
  ntop: "the nDPI vendor's own web site; its TLS or HTTP master names the application",
};
