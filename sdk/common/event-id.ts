/**
 * Event ids as the seed's SDKs make them: "evt_" and 16 random hex digits (64 bits). One
 * implementation for the server, KafkaTracker and TrackingClient. Web Crypto keeps it usable
 * in browsers; random bytes are drawn 4 KiB at a time, one call per 512 ids, because a call
 * per id was a quarter of KafkaTracker's CPU at full speed.
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const POOL = new Uint8Array(4096);
let offset = POOL.length;

/** A new event id: "evt_" + 16 random hex digits. */
export function newEventId(): string {
  if (offset + 8 > POOL.length) {
    globalThis.crypto.getRandomValues(POOL);
    offset = 0;
  }
  const b = POOL;
  const o = offset;
  offset += 8;
  return "evt_" + HEX[b[o]] + HEX[b[o + 1]] + HEX[b[o + 2]] + HEX[b[o + 3]] + HEX[b[o + 4]] + HEX[b[o + 5]] + HEX[b[o + 6]] + HEX[b[o + 7]];
}
