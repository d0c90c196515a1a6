import { defineConfig } from "vitest/config";

// Four suites: `unit` runs anywhere in seconds; `real` drives real binaries (containerd, CNI
// plugins) on this machine; `e2e` boots test nodes; `pack` packs the package, installs it into a
// new project and runs the examples against it (about a minute: a build and an npm install).
// `real` and `e2e` skip, with the reason, where root or their tools are missing.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { test: { name: "pack", include: ["test/pack/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 600_000 } },
      { test: { name: "real", include: ["test/real/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 180_000 } },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
