/** Tracking-config rules: compile configs/templates into judges, validate definitions, hold judges per tenant. */
export {
  compileConfig,
  fieldKindOf,
  KNOWN_SCENARIO_TYPES,
  type CompileOptions,
  type CompiledConfig,
  type FieldKind,
  type JudgeableEvent,
  type TemplateJson,
} from "./compile.js";
export { RuleBook, type ConfigSource, type JudgeResult } from "./rule-book.js";
export { validateConfigDefinition } from "./validate-config.js";
export { actionFromWireName, configFromTemplate, type FromTemplateInit } from "./from-template.js";
