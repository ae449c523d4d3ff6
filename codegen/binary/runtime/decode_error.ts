/**
 * Shared by every generated `<file>_binary.ts`; the binary plugin emits this file verbatim
 * as gen/binary/decode_error.ts.
 */

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
