/**
 * sorted-btree's B+ tree, imported the same way under Node and under Vitest: the package is
 * CommonJS with its class on `exports.default`, which Node's ESM import exposes as
 * `module.default.default` and Vite's interop as `module.default`.
 */
import SortedBTree from "sorted-btree"

type BTreeClass = typeof SortedBTree.default
const loaded = SortedBTree as unknown as BTreeClass | { readonly default: BTreeClass }

export const BTree: BTreeClass = typeof loaded === "function" ? loaded : loaded.default
export type BTree<K, V> = InstanceType<typeof SortedBTree.default<K, V>>
