/**
 * The TypeScript mirror of bpf/include/fos1.h: constants, map names, struct
 * layouts, and encode/decode of every map key and value to and from the bytes
 * the kernel stores (e.g. for `bpftool map update pinned ... key hex ...`).
 */
export * from "./address";
export * from "./codec";
export * from "./constants";
export * from "./flow-key";
export * from "./layout";
