import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["codegen/**/*.test.ts", "server/**/*.test.ts", "sdk/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share one broker and fixed ports; files run one at a time there.
    fileParallelism: true,
    pool: "forks",
  },
});
