/**
 * End-to-end benchmark server for the gRPC fast path (not a test): an h2c server on PORT with
 * a fake instant BehaviorService runtime, serving TrackEvent either through connect-node
 * (`connect`, on node's compat request/response) or through createGrpcFastHandler's stream
 * listener (`fast`, as server/app.ts wires it), or `raw`: the ceiling, a bare http2
 * stream handler with protobuf-es fromBinary/toBinary and no error handling. Writes the seed event as a
 * length-prefixed gRPC body to BODY for h2load:
 *
 *   tsx bench/grpc-fast-bench.ts fast 50061 /tmp/body.bin &
 *   h2load -n 50000 -c 8 -m 16 -H 'content-type: application/grpc' -H 'te: trailers' \
 *     -d /tmp/body.bin http://127.0.0.1:50061/recommender.v1.BehaviorService/TrackEvent
 */
import { writeFileSync } from "node:fs";
import { createServer, type ServerHttp2Stream } from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  GetHealthResponseSchema,
  TrackBatchResponseSchema,
  TrackEventRequestSchema,
  TrackEventResponseSchema,
  ValidateEventResponseSchema,
} from "../gen/es/recommender/v1/behavior_pb.js";
import {
  type BehaviorServiceRuntime,
  registerBehaviorService,
} from "../gen/handlers/recommender/v1/behavior_handlers.js";
import { behaviorEventToWire } from "../gen/validator/recommender/v1/behavior_validator.js";
import { createConnectHandler } from "../server/transport/connect.js";
import { createGrpcServer } from "../server/transport/grpc.js";
import { createGrpcFastHandler } from "../server/transport/grpc-fast.js";
import { seedEventMessage } from "../test/helpers/seed.js";

const [mode = "fast", portArg = "50061", bodyPath = "/tmp/grpc-fast-body.bin"] = process.argv.slice(2);

let n = 0;
/** Instant runtime: reads the auth header and the tenant like the real one, answers at once. */
const runtime: BehaviorServiceRuntime = {
  async trackEvent(event, ctx) {
    ctx.requestHeader.get("x-api-key");
    if (typeof event !== "object" || event === null || !("tenant_id" in event)) throw new Error("bad");
    return create(TrackEventResponseSchema, {
      success: true,
      eventId: `evt_${(n++).toString(16).padStart(16, "0")}`,
      message: "Event tracked successfully",
    });
  },
  async trackBatch(events) {
    return create(TrackBatchResponseSchema, { success: true, total: events.length, succeeded: events.length });
  },
  async validateEvent() {
    return create(ValidateEventResponseSchema, { success: true, message: "Event is valid" });
  },
  async getHealth() {
    return create(GetHealthResponseSchema, { status: "healthy" });
  },
};

// The seed's gRPC example event (test/helpers/seed.ts), with the timestamp a client would set.
const seed = create(TrackEventRequestSchema, { event: { ...seedEventMessage(), timestamp: 1730304000100n } });
const msg = toBinary(TrackEventRequestSchema, seed);
const body = Buffer.alloc(5 + msg.length);
body.writeUInt32BE(msg.length, 1);
body.set(msg, 5);
writeFileSync(bodyPath, body);

const connect = createConnectHandler({ routes: (r) => void registerBehaviorService(r, runtime) });
const server =
  mode === "fast"
    ? createGrpcServer(createGrpcFastHandler({ behavior: runtime, fallback: connect }))
    : mode === "raw"
      ? createServer()
      : createServer(connect);
if (mode === "raw") {
  server.on("stream", (stream: ServerHttp2Stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", async () => {
      const b = Buffer.concat(chunks);
      const req = fromBinary(TrackEventRequestSchema, b.subarray(5));
      const res = await runtime.trackEvent(req.event ? behaviorEventToWire(req.event) : {}, {
        requestHeader: new Headers(),
      } as never);
      const out = toBinary(TrackEventResponseSchema, res);
      const f = Buffer.alloc(5 + out.length);
      f.writeUInt32BE(out.length, 1);
      f.set(out, 5);
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(f);
      void headers;
    });
  });
}
server.listen(Number(portArg), "127.0.0.1", () =>
  console.error(`${mode} listening on ${portArg}; body ${bodyPath} (${body.length} bytes)`),
);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
