/**
 * Event ids as the seed's SDKs make them: "evt_" and 16 random hex digits (64 bits). One
 * implementation for the server, KafkaTracker and TrackingClient. Web Crypto keeps it usable
 * in browsers; random bytes are drawn 4 KiB at a time, one call per 512 ids, because a call
 * per id was a quarter of KafkaTracker's CPU at full speed.
 */

/** The two hex digits of byte b at [2b, 2b + 2). */
const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0")).join("");
const POOL = new Uint8Array(4096);
let offset = POOL.length;

/** A new event id: "evt_" + 16 random hex digits. */
export function newEventId(): string {
  if (offset + 8 > POOL.length) {
    globalThis.crypto.getRandomValues(POOL);
    offset = 0;
  }
  let id = "evt_";
  for (const b of POOL.subarray(offset, offset + 8)) id += HEX_PAIRS.slice(2 * b, 2 * b + 2);
  offset += 8;
  return id;
}
