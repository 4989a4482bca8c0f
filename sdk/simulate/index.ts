export * from "./flow-report";
export * from "./simulate";
export * from "./report-diff";
