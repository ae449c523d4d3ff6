/**
 * TrackingConfigService (the seed's 配置管理): templates come from gen/templates, configs
 * live in the config store (SQLite or MongoDB); every write recompiles the config's judge
 * (RuleBook listens to the store), so events are never judged by interpreting a config.
 *
 * Optimistic concurrency: an update or delete may carry the version it was based on — the
 * `If-Match: "<version>"` header (REST, or `if-match` metadata over Connect/gRPC), or a
 * `version` in the update's config — and then fails with 409 / ABORTED naming the current
 * version when the stored one differs. Without one, the last writer wins (each write is
 * still applied to the newest stored version, so no concurrent change is silently lost).
 * GET answers an `ETag: "<version>"` header.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  CreateTrackingConfigFromTemplateResponseSchema,
  CreateTrackingConfigResponseSchema,
  DeleteTrackingConfigResponseSchema,
  GetTrackingConfigResponseSchema,
  ListTemplatesResponseSchema,
  ListTrackingConfigsResponseSchema,
  TrackingConfigService,
  UpdateTrackingConfigResponseSchema,
} from "../../gen/es/recommender/v1/tracking_config_pb.js";
import {
  type TrackingConfigServiceRuntime,
  trackingConfigServiceAccess,
} from "../../gen/handlers/recommender/v1/tracking_config_handlers.js";
import { scenarioTemplates, templateById } from "../../gen/templates/scenario_templates.js";
import { scenarioTemplateFromWire } from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import { configFromTemplate } from "../rules/index.js";
import { type ConfigStore, NotFoundError, pathNames } from "../store/config-store.js";
import { type AuthGuard, withAccess } from "./auth-guard.js";

/** What the config service needs. */
export interface TrackingConfigServiceDeps {
  store: ConfigStore;
  guard: AuthGuard;
}

function required(value: string, field: string): void {
  if (value === "") {
    throw new ConnectError(`${field} is required`, Code.InvalidArgument);
  }
}

/**
 * The version named by an `If-Match` header/metadata: `"3"`, `W/"3"` or `3`; undefined when
 * absent or `*` (any version). Anything else is refused naming the header.
 */
export function ifMatchVersion(headers: Headers): number | undefined {
  const raw = headers.get("if-match")?.trim();
  if (raw === undefined || raw === "" || raw === "*") return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(raw);
  if (!m) {
    throw new ConnectError(
      `If-Match must be a config version like "3" (from GET's ETag or config.version), got ${JSON.stringify(raw.slice(0, 40))}`,
      Code.InvalidArgument,
    );
  }
  return Number(m[1]);
}

/** Creates the TrackingConfigService runtime. */
export function createTrackingConfigService(deps: TrackingConfigServiceDeps): TrackingConfigServiceRuntime {
  const { store, guard } = deps;
  // Templates are generated constants; their messages are built once.
  const templates = scenarioTemplates.map((t) => scenarioTemplateFromWire(t));
  const who = (tenant: string, scenario: string) => `${tenant}/${scenario}`;

  // Who may call what is the proto's access option (ListTemplates public, the rest admin).
  return withAccess(TrackingConfigService, trackingConfigServiceAccess, guard, {
    async listTemplates() {
      return create(ListTemplatesResponseSchema, { templates });
    },

    async createTrackingConfigFromTemplate(request) {
      required(request.tenantId, "tenant_id");
      required(request.scenarioId, "scenario_id");
      required(request.templateId, "template_id");
      const template = templateById(request.templateId);
      if (!template) {
        const known = scenarioTemplates.map((t) => t.template_id).join(", ");
        throw new ConnectError(
          `template_id ${JSON.stringify(request.templateId)} is not a template; use one of ${known}`,
          Code.InvalidArgument,
        );
      }
      const config = await store.create(
        configFromTemplate(template, {
          tenant_id: request.tenantId,
          scenario_id: request.scenarioId,
          name: request.name || undefined,
          description: request.description || undefined,
        }),
      );
      return create(CreateTrackingConfigFromTemplateResponseSchema, {
        success: true,
        message: `Tracking config ${who(config.tenantId, config.scenarioId)} created from template ${template.template_id}`,
        config,
      });
    },

    async createTrackingConfig(request) {
      if (!request.config) throw new ConnectError("config is required", Code.InvalidArgument);
      const config = await store.create(request.config);
      return create(CreateTrackingConfigResponseSchema, {
        success: true,
        message: `Tracking config ${who(config.tenantId, config.scenarioId)} created`,
        config,
      });
    },

    async getTrackingConfig(request, context) {
      const config = store.get(request.tenantId, request.scenarioId);
      if (!config) throw new NotFoundError(`no tracking config ${who(request.tenantId, request.scenarioId)}`);
      context.responseHeader.set("etag", `"${config.version}"`);
      return create(GetTrackingConfigResponseSchema, { config });
    },

    async listTrackingConfigs(request) {
      const configs = store.list({
        tenant_id: request.tenantId || undefined,
        scenario_type: request.scenarioType || undefined,
        include_inactive: request.includeInactive,
      });
      return create(ListTrackingConfigsResponseSchema, { configs, total: configs.length });
    },

    async updateTrackingConfig(request, context) {
      const paths = request.updateMask?.paths ?? [];
      if (!request.config || paths.length === 0) {
        throw new ConnectError(
          "nothing to update: send the fields to change (update_mask names them over gRPC)",
          Code.InvalidArgument,
        );
      }
      // The header wins over a version in the body; a body version counts only when sent.
      const bodyVersion =
        paths.some((p) => pathNames(p, "version")) && request.config.version > 0 ? request.config.version : undefined;
      const expected = ifMatchVersion(context.requestHeader) ?? bodyVersion;
      const config = await store.update(request.tenantId, request.scenarioId, request.config, paths, expected);
      return create(UpdateTrackingConfigResponseSchema, {
        success: true,
        message: `Tracking config ${who(config.tenantId, config.scenarioId)} updated to version ${config.version}`,
        config,
      });
    },

    async deleteTrackingConfig(request, context) {
      const config = await store.softDelete(
        request.tenantId,
        request.scenarioId,
        ifMatchVersion(context.requestHeader),
      );
      return create(DeleteTrackingConfigResponseSchema, {
        success: true,
        message: `Tracking config ${who(config.tenantId, config.scenarioId)} deactivated (version ${config.version}); it no longer judges events`,
      });
    },
  });
}
