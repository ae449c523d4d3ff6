import { randomFillSync } from "node:crypto";

/** Hex digits of every byte value, so ids are built without per-call formatting. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** Random bytes are drawn in blocks: one syscall per 512 ids instead of one per id. */
const POOL_BYTES = 8 * 512;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** A new event id: "evt_" and 16 random hex digits (64 bits), as the seed's SDKs make them. */
export function newEventId(): string {
  if (offset + 8 > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const o = offset;
  offset += 8;
  return (
    "evt_" +
    HEX[pool[o]] + HEX[pool[o + 1]] + HEX[pool[o + 2]] + HEX[pool[o + 3]] +
    HEX[pool[o + 4]] + HEX[pool[o + 5]] + HEX[pool[o + 6]] + HEX[pool[o + 7]]
  );
}
