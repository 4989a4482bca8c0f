/**
 * Names and flag values of the eBPF maps the compilers write, as bpf/include/fos1.h
 * defines them.
 */
export const MAP = {
  qosClasses: "fos1_qos_classes",
  appPolicy: "fos1_app_policy",
  routePolicy: "fos1_route_policy",
  segments: "fos1_segments",
  inspectSelect: "fos1_inspect_select",
  critical: "fos1_critical",
  watch: "fos1_watch",
} as const;

export const APP_OFFLOAD_ALLOWED = 1 << 0;
export const APP_NEVER_OFFLOAD = 1 << 1;
