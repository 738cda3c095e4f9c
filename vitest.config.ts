import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "functions/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", ".sst/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    coverage: {
      provider: "v8",
      include: [
        "packages/core/src/**/*.ts",
        "packages/aws/src/**/*.ts",
        "packages/templates/src/**/*.ts",
        "functions/src/**/*.ts",
      ],
      exclude: ["**/*.test.ts", "**/test/**"],
      reporter: ["text-summary", "json-summary"],
      thresholds: {
        "packages/core/src/**": { lines: 95 },
      },
    },
  },
});
