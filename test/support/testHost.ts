/**
 * The loopback address process tests bind and connect to. Any 127.0.0.0/8 address reaches this
 * machine, so parallel checkouts (each with its own RAFT_KV_TEST_HOST, e.g. 127.0.0.2) can run
 * their process tests at the same time on the same fixed ports without colliding.
 */
export const TEST_HOST = process.env.RAFT_KV_TEST_HOST ?? "127.0.0.1"
