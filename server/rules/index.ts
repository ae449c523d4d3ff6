/** Tracking-config rules: compile configs/templates into judges, validate definitions, hold judges per tenant. */
export {
  actionWireName,
  compileConfig,
  fieldKindOf,
  KNOWN_SCENARIO_TYPES,
  type CompileOptions,
  type CompiledConfig,
  type FieldKind,
  type FieldSpecWire,
  type JudgeableEvent,
  type TemplateLike,
} from "./compile.js";
export { RuleBook, type ConfigSource, type JudgeResult } from "./rule-book.js";
export { validateConfigDefinition } from "./validate-config.js";
export { actionFromWireName, configFromTemplate, fieldSpecFromWire, type FromTemplateInit } from "./from-template.js";
export { mergeViolations } from "./merge.js";
