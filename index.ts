export * from "./sdk";
export * from "./components";
// The components take the names users write (`new QosPolicy(...)`); the sdk's
// document types of the same names stay available from "@fos1/dpi/sdk".
export { DpiSensor, QosPolicy } from "./components";
