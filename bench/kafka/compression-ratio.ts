/** Compression ratio and cost of each codec on our encoded events, per batch size (micro bench, not a test). Run from the repo root. */
import { readFileSync } from "node:fs";
import zlib from "node:zlib";
import { compressionsAlgorithms } from "@platformatic/kafka";
import { generatedBehaviorCodec as codec } from "../../sdk/common/behavior-codec.js";

const seed = JSON.parse(readFileSync("test/fixtures/seed/http_event_data.json", "utf8"));
const vals = Array.from({ length: 2000 }, (_, i) =>
  codec.encode(
    codec.normalize({
      ...seed,
      tenant_id: "t",
      user_id: `user_${10000 + (i % 500)}`,
      item_id: `video_${60000 + ((i * 7) % 20000)}`,
      event_id: `evt_${Math.random().toString(16).slice(2)}`,
      timestamp: Date.now(),
    }),
  ),
);
for (const n of [1, 5, 20, 100, 2000]) {
  const buf = Buffer.from(vals.slice(0, n).join(""));
  const row: string[] = [`n=${n} raw=${buf.length}`];
  for (const [name, c] of Object.entries(
    compressionsAlgorithms as Record<string, { compressSync(b: Buffer): Buffer }>,
  )) {
    if (name === "none") continue;
    const t = performance.now();
    let out: Buffer = buf;
    for (let k = 0; k < 200; k++) out = c.compressSync(buf);
    row.push(
      `${name}=${((out.length / buf.length) * 100).toFixed(0)}% ${(((performance.now() - t) / 200) * 1000).toFixed(0)}µs`,
    );
  }
  console.log(row.join("  "));
}
const b5 = Buffer.from(vals.slice(0, 5).join(""));
let t = performance.now();
await Promise.all(Array.from({ length: 200 }, () => new Promise((r) => zlib.gzip(b5, r))));
console.log("async gzip 5 rec, 200 concurrent: per call µs", (((performance.now() - t) / 200) * 1000).toFixed(0));
t = performance.now();
for (let k = 0; k < 200; k++) await new Promise((r) => zlib.gzip(b5, r));
console.log("async gzip 5 rec serial: per call µs", (((performance.now() - t) / 200) * 1000).toFixed(0));
