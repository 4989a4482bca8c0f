// Two projects: `unit` needs no privileges; `dataplane` drives the real kernel
// (network namespaces, eBPF, nftables) and refuses to run without root.
const shared = {
  preset: "ts-jest",
  testEnvironment: "node",
  moduleNameMapper: {
    "^@fos1/dpi$": "<rootDir>/index.ts",
    "^@fos1/dpi/(.*)$": "<rootDir>/$1",
  },
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }] },
};

module.exports = {
  // Per test, for a loaded 2-core CI machine (jest 29 takes this only globally); a hanging test still fails.
  testTimeout: 30_000,
  projects: [
    {
      ...shared,
      displayName: "unit",
      testMatch: ["<rootDir>/test/unit/**/*.test.ts", "<rootDir>/agent/test/unit/**/*.test.ts"],
    },
    {
      ...shared,
      displayName: "dataplane",
      testMatch: ["<rootDir>/test/dataplane/**/*.test.ts", "<rootDir>/agent/test/dataplane/**/*.test.ts"],
      globalSetup: "<rootDir>/test/dataplane/require-root.js",
    },
  ],
};
