export * from "./html";
