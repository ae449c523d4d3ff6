/**
 * Shared by every generated `<file>_binary.ts`; the binary plugin emits this file verbatim
 * as gen/binary/decode_error.ts.
 */
import type { HandlerContext } from "@connectrpc/connect";

/** One ingest RPC in a `<service>GrpcIngest` table of a generated `<file>_binary.ts`. */
export interface GrpcIngestRpc<Runtime> {
  /** The RPC's name as declared, e.g. "TrackEvent". */
  readonly rpc: string;
  /**
   * Decodes the request message (bytes start..end of `buf`) to the event wire JSON, calls
   * the runtime method and encodes its response after `reserve` zero bytes (5 for a gRPC
   * length prefix). Throws DecodeError (possibly synchronously) on invalid data.
   */
  readonly invoke: (
    runtime: Runtime,
    buf: Uint8Array,
    start: number,
    end: number,
    context: HandlerContext,
    reserve: number,
  ) => Promise<Uint8Array>;
}

/** Invalid protobuf binary data: truncated, a bad varint or wire type, invalid UTF-8, too deep. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  /** Byte offset where decoding failed. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`cannot decode protobuf binary: ${message} at byte ${offset}`);
    this.offset = offset;
  }
}
