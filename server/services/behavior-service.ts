/**
 * BehaviorService: the runtime the generated handlers call for REST, Connect, gRPC and
 * gRPC-Web. Ingest RPCs receive the event as request-mode wire JSON (the REST body as
 * parsed, or the message converted by the generated codec) and go through the shared
 * pipeline, so every transport gives the same answers.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
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
import type { BehaviorServiceRuntime } from "../../gen/handlers/recommender/v1/behavior_handlers.js";
import type { Sink, Violation } from "../contracts.js";
import type { IngestPipeline } from "../ingest/pipeline.js";
import type { Stats } from "../stats/stats.js";
import type { AuthGuard } from "./auth-guard.js";

/** What the behavior service needs. */
export interface BehaviorServiceDeps {
  pipeline: IngestPipeline;
  stats: Stats;
  sink: Sink;
  guard: AuthGuard;
}

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
  const { pipeline, stats, sink, guard } = deps;
  return {
    async trackEvent(event: unknown, context: HandlerContext): Promise<TrackEventResponse> {
      guard.ingest(context, [tenantOf(event)]);
      const { eventId, warnings } = await pipeline.track(event);
      return create(TrackEventResponseSchema, {
        success: true,
        eventId,
        message: "Event tracked successfully",
        validationWarnings: warnings.length > 0 ? violationMessages(warnings) : [],
      });
    },

    async trackBatch(events: readonly unknown[], context: HandlerContext): Promise<TrackBatchResponse> {
      guard.ingest(context, events.map(tenantOf));
      const items = await pipeline.trackBatch(events);
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
          failed === 0 ? `${succeeded} events tracked successfully` : `${succeeded} events tracked, ${failed} rejected`,
      });
    },

    async validateEvent(event: unknown, context: HandlerContext): Promise<ValidateEventResponse> {
      guard.ingest(context, [tenantOf(event)]);
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
      const s = stats.snapshot();
      const available = sink.available();
      return create(GetHealthResponseSchema, {
        status: available ? "healthy" : "degraded",
        kafkaAvailable: available,
        kafkaError: available ? "" : (sink.unavailableReason?.() ?? ""),
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
  };
}
