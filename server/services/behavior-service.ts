/**
 * BehaviorService: the runtime the generated handlers call for REST, Connect, gRPC and
 * gRPC-Web. Ingest RPCs receive the event as request-mode wire JSON (the REST body as
 * parsed, or the message converted by the generated codec) and go through the shared
 * pipeline, so every transport gives the same answers.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  BehaviorService,
  EventResultSchema,
  type GetHealthResponse,
  GetHealthResponseSchema,
  HealthStatsSchema,
  Severity,
  type TrackBatchResponse,
  TrackBatchResponseSchema,
  type TrackEventResponse,
  TrackEventResponseSchema,
  type ValidateEventResponse,
  ValidateEventResponseSchema,
  type Violation as ViolationMessage,
  ViolationSchema,
} from "../../gen/es/recommender/v1/behavior_pb.js";
import {
  type BehaviorServiceRuntime,
  behaviorServiceAccess,
} from "../../gen/handlers/recommender/v1/behavior_handlers.js";
import type { Sink, Violation } from "../contracts.js";
import type { IngestPipeline } from "../ingest/pipeline.js";
import type { MetricsView } from "../stats/stats.js";
import { restStatusKey } from "../transport/rest.js";
import { type AuthGuard, withAccess } from "./auth-guard.js";

/** What the behavior service needs. */
export interface BehaviorServiceDeps {
  pipeline: IngestPipeline;
  /** The health endpoint's counters: this process's, or the cluster's sum (server/cluster/). */
  metrics: MetricsView;
  sink: Sink;
  guard: AuthGuard;
}

const SPOOLED_NOTE = "spooled while the broker is unreachable; forwarded to Kafka when it returns";
const SPOOLED_MESSAGE = `Event accepted and ${SPOOLED_NOTE}`;

const SEVERITY = { error: Severity.ERROR, warning: Severity.WARNING } as const;

/** Converts pipeline violations to response messages. */
export function violationMessages(list: readonly Violation[]): ViolationMessage[] {
  return list.map((v) =>
    create(ViolationSchema, { field: v.field, rule: v.rule, message: v.message, severity: SEVERITY[v.severity] }),
  );
}

function tenantOf(event: unknown): unknown {
  return event !== null && typeof event === "object" ? (event as { tenant_id?: unknown }).tenant_id : undefined;
}

/** Creates the BehaviorService runtime. */
export function createBehaviorService(deps: BehaviorServiceDeps): BehaviorServiceRuntime {
  const { pipeline, metrics, sink, guard } = deps;
  // Who may call what is the proto's access option (ingest: a key of the event's tenant, checked
  // below per event; health: public).
  return withAccess(BehaviorService, behaviorServiceAccess, guard, {
    async trackEvent(event: unknown, context: HandlerContext): Promise<TrackEventResponse> {
      const tenant = tenantOf(event);
      guard.admitOne(tenant, guard.ingestOne(context, tenant));
      const { eventId, warnings, spooled } = await pipeline.track(event, context.protocolName);
      if (spooled) context.values.set(restStatusKey, 202);
      return create(TrackEventResponseSchema, {
        success: true,
        eventId,
        message: spooled ? SPOOLED_MESSAGE : "Event tracked successfully",
        validationWarnings: warnings.length > 0 ? violationMessages(warnings) : [],
        ...(spooled ? { spooled } : {}),
      });
    },

    async trackBatch(events: readonly unknown[], context: HandlerContext): Promise<TrackBatchResponse> {
      const tenants = events.map(tenantOf);
      // Quotas count events, valid or not: a flood of invalid events costs the server too.
      guard.admitMany(tenants, guard.ingest(context, tenants));
      const items = await pipeline.trackBatch(events, context.protocolName);
      const spooled = items.some((item) => item.spooled === true);
      if (spooled) context.values.set(restStatusKey, 202);
      let succeeded = 0;
      const results = items.map((item) => {
        if (item.success) succeeded++;
        return create(EventResultSchema, {
          index: item.index,
          eventId: item.eventId,
          success: item.success,
          errors: violationMessages(item.errors),
          warnings: violationMessages(item.warnings),
        });
      });
      const failed = items.length - succeeded;
      return create(TrackBatchResponseSchema, {
        success: failed === 0,
        total: items.length,
        succeeded,
        failed,
        results,
        message:
          (failed === 0
            ? `${succeeded} events tracked successfully`
            : `${succeeded} events tracked, ${failed} rejected`) + (spooled ? ` (${SPOOLED_NOTE})` : ""),
        ...(spooled ? { spooled } : {}),
      });
    },

    async validateEvent(event: unknown, context: HandlerContext): Promise<ValidateEventResponse> {
      // Validation publishes nothing, so it is not charged to the quota.
      guard.ingestOne(context, tenantOf(event));
      const result = pipeline.validate(event);
      const ok = result.errors.length === 0;
      return create(ValidateEventResponseSchema, {
        success: ok,
        errors: violationMessages(result.errors),
        validationWarnings: violationMessages(result.warnings),
        message: ok
          ? result.warnings.length > 0
            ? `Event is valid with ${result.warnings.length} warning(s)`
            : "Event is valid"
          : `Event is invalid: ${result.errors.length} error(s)`,
      });
    },

    async getHealth(): Promise<GetHealthResponse> {
      const s = await metrics.snapshot();
      const available = sink.available();
      return create(GetHealthResponseSchema, {
        status: available ? "healthy" : "degraded",
        kafkaAvailable: available,
        ...(available ? {} : { kafkaError: sink.unavailableReason?.() ?? "unavailable" }),
        stats: create(HealthStatsSchema, {
          totalEvents: BigInt(s.total_events),
          kafkaSuccess: BigInt(s.kafka_success),
          kafkaFailed: BigInt(s.kafka_failed),
          rejected: BigInt(s.rejected),
          validationWarnings: BigInt(s.validation_warnings),
          successRate: s.success_rate,
        }),
      });
    },
  });
}
