import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Process-level tests start real clusters on fixed loopback ports: run files one at a time.
    fileParallelism: false,
    pool: "forks"
  }
})
