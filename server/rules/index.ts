/** Tracking-config rules: compile configs/templates into judges, validate definitions, hold judges per tenant. */
export {
  type CompiledConfig,
  type CompileOptions,
  compileConfig,
  type FieldKind,
  fieldKindOf,
  type JudgeableEvent,
  KNOWN_SCENARIO_TYPES,
  type TemplateJson,
} from "./compile.js";
export { actionFromWireName, configFromTemplate, type FromTemplateInit } from "./from-template.js";
export { type ConfigSource, type JudgeResult, RuleBook } from "./rule-book.js";
export { validateConfigDefinition } from "./validate-config.js";
