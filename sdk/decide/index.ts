export * from "./app-control";
export * from "./decisions";
export * from "./node-policy";
export * from "./prefix-table";
export * from "./route";
export * from "./flow-key";
