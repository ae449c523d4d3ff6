// The naive baseline: what a typical team would write first. Express + kafkajs, required fields
// checked by hand, one producer.send per request with acks=all and gzip, answer after the ack.
// Usage: node bench/baseline/server.mjs   (env PORT, KAFKA_BROKERS)

import { randomBytes } from "node:crypto";
import express from "express";
import { CompressionTypes, Kafka, logLevel, Partitioners } from "kafkajs";

const port = Number(process.env.PORT ?? 8090);
const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");

const kafka = new Kafka({ clientId: "behavior-baseline", brokers, logLevel: logLevel.WARN });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();

const app = express();
app.use(express.json({ limit: "1mb" }));

const REQUIRED = ["tenant_id", "scenario_id", "user_id", "item_id", "action_type", "context"];

app.post("/api/v1/behaviors/track", async (req, res) => {
  const event = req.body;
  for (const f of REQUIRED) {
    if (event[f] === undefined || event[f] === null || event[f] === "") {
      return res.status(400).json({ success: false, message: `missing field: ${f}` });
    }
  }
  if (!event.context.device_type)
    return res.status(400).json({ success: false, message: "missing field: context.device_type" });
  event.event_id ??= "evt_" + randomBytes(8).toString("hex");
  event.timestamp ??= Date.now();
  try {
    await producer.send({
      topic: `user-behaviors-${event.tenant_id}`,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: [{ key: event.user_id, value: JSON.stringify(event) }],
    });
    res.json({ success: true, event_id: event.event_id, message: "Event tracked successfully" });
  } catch (err) {
    res.status(503).json({ success: false, message: String(err) });
  }
});

const server = app.listen(port, "127.0.0.1", () => console.error(`baseline express+kafkajs on 127.0.0.1:${port}`));
process.on("SIGTERM", () =>
  server.close(async () => {
    await producer.disconnect();
    process.exit(0);
  }),
);
