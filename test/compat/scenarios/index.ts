/**
 * Every compatibility scenario, by area. A scenario is data: a name and a list of steps (see
 * test/support/differential.ts); test/process/compat.test.ts runs each against raft-kv and a real
 * redis-server on RESP2 and RESP3 and compares every reply byte for byte.
 */
import type { Scenario } from "../../support/differential.js"
import { connection } from "./connection.js"
import { databases } from "./databases.js"
import { expiry } from "./expiry.js"
import { hashes } from "./hashes.js"
import { keyspace } from "./keyspace.js"
import { lists } from "./lists.js"
import { resp3 } from "./resp3.js"
import { sets } from "./sets.js"
import { strings } from "./strings.js"
import { transactions } from "./transactions.js"
import { zsets } from "./zsets.js"

export const scenarioGroups: ReadonlyArray<{ readonly area: string; readonly scenarios: ReadonlyArray<Scenario> }> = [
  { area: "strings", scenarios: strings },
  { area: "expiry", scenarios: expiry },
  { area: "keyspace", scenarios: keyspace },
  { area: "lists", scenarios: lists },
  { area: "databases", scenarios: databases },
  { area: "transactions", scenarios: transactions },
  { area: "sorted sets", scenarios: zsets },
  { area: "connection", scenarios: connection },
  { area: "reply types", scenarios: resp3 },
  { area: "hashes", scenarios: hashes },
  { area: "sets", scenarios: sets }
]

export const allScenarios: ReadonlyArray<Scenario> = scenarioGroups.flatMap((group) => group.scenarios)
