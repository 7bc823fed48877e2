declare module "redis-parser" {
  interface ParserOptions {
    returnReply: (reply: unknown) => void
    returnError: (error: Error) => void
    returnFatalError?: (error: Error) => void
    returnBuffers?: boolean
    stringNumbers?: boolean
  }
  class RedisParser {
    constructor(options: ParserOptions)
    /** Internal: null between messages. Read only to know when an inline command may start. */
    buffer: Buffer | null
    /** Internal: where parsing continues in `buffer` (read to find command boundaries). */
    offset: number
    execute(buffer: Buffer): void
    reset(): void
  }
  export = RedisParser
}
