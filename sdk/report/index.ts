export * from "./html";
export * from "./text";
