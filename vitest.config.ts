import * as os from "node:os"
import { defineConfig } from "vitest/config"
import { BaseSequencer, type TestSpecification } from "vitest/node"

/**
 * How the suite shares the machine (2 cores in CI). Three projects:
 *
 * - "unit" (test/unit, test/sim): in-process, CPU-bound files, run side by side in forks, one per
 *   core, the longest first.
 * - "cluster": the process tests that load the machine or measure time themselves (1,000,000
 *   members or keys, 200,000 writes, 72 MiB of values, fuzzing for a fixed time, PING latency, no
 *   election allowed, write pauses while nodes restart, a key set to expire 1.5 s later read on
 *   every node first): one file at a time in one fork, after the unit files (Vitest runs a pool's
 *   single-fork files after its parallel ones).
 * - "cluster-side": the other process tests, which mostly wait (round trips, fsync, elections):
 *   one file at a time in one worker thread, from the start, beside the two above (a project in
 *   another pool runs at the same time).
 *
 * Process tests use fixed loopback ports: the "cluster" files (one at a time) use 30000-32767
 * only, the "cluster-side" files (one at a time) and the unit files stay below 30000 (see each
 * file's basePort), so files that run at the same time never share a port.
 */
const CLUSTER = [
  "test/process/bigCollections.test.ts",
  "test/process/membership.test.ts",
  "test/process/longCommands.test.ts",
  "test/process/snapshot.test.ts",
  "test/process/fuzz.test.ts",
  "test/process/underLoad.test.ts",
  "test/process/largeValues.test.ts",
  "test/process/transactionsAndExpiry.test.ts"
]

/** The longest unit files first, so the parallel group does not end with a long file running alone. */
const LONGEST_FIRST = ["test/sim/simulation.test.ts", ...CLUSTER, "test/process/compat.test.ts"]

class LongestFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const sorted = await super.sort(files)
    const rank = (spec: TestSpecification) => {
      const index = LONGEST_FIRST.findIndex((file) => spec.moduleId.endsWith(file))
      return index === -1 ? LONGEST_FIRST.length : index
    }
    // Array.prototype.sort is stable: files outside the list keep the base order.
    return sorted.sort((a, b) => rank(a) - rank(b))
  }
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest's default leaves a core idle (cores - 1): on 2 cores that is half the machine.
    maxWorkers: Math.max(2, os.availableParallelism()),
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/sim/**/*.test.ts"] }
      },
      {
        extends: true,
        test: { name: "cluster", include: CLUSTER, poolOptions: { forks: { singleFork: true } } }
      },
      {
        extends: true,
        test: {
          name: "cluster-side",
          include: ["test/process/**/*.test.ts"],
          exclude: CLUSTER,
          pool: "threads",
          poolOptions: { threads: { singleThread: true } }
        }
      }
    ]
  }
})
