/** The node's validated configuration as a service, so actors depend on it explicitly. */
import { Context } from "effect"
import type { NodeConfig as Config } from "../cli/Config.js"

export type { Config as NodeConfigValue }
export class NodeConfig extends Context.Tag("raft-kv/NodeConfig")<NodeConfig, Config>() {}
