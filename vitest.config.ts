import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The CLI tests spawn dist/cli/main.js: build it first when the sources are newer.
    globalSetup: ["test/helpers/build.ts"],
  },
});
