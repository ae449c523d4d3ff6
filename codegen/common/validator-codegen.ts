/**
 * Emits the compiled validator/codec module of one proto file (see
 * codegen/validator/API.md): straight-line TypeScript per message, derived from the same
 * model (model.ts) and schema rules (wire-schema.ts) as the JSON Schemas.
 */
import type { DescEnum, DescFile, DescMessage } from "@bufbuild/protobuf";
import type { GeneratedFile } from "@bufbuild/protoplugin";
import { ImportTokens } from "./import-tokens.js";
import {
  type Check,
  enumModel,
  type FieldModel,
  kafkaRouting,
  type MessageModel,
  messageModel,
  scenarios,
  type WireKind,
} from "./model.js";
import { localName, lowerFirst } from "./names.js";
import { activeChecks, enumNames, recommendedActionRule, variantRules, wireTypeName } from "./wire-schema.js";

const structTypeName = "google.protobuf.Struct";

function camel(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function ident(typeName: string): string {
  return typeName.replace(/\./g, "_");
}

const lit = (v: unknown) => JSON.stringify(v);

/** The generated module's name for a proto file, e.g. recommender/v1/behavior_validator.ts. */
export function validatorFileName(file: DescFile): string {
  return `${file.name.replace(/\.proto$/, "")}_validator.ts`;
}

export function wireFileName(file: DescFile): string {
  return `${file.name.replace(/\.proto$/, "")}_wire.ts`;
}

function baseName(file: DescFile): string {
  return file.name
    .replace(/\.proto$/, "")
    .split("/")
    .pop()!;
}

export function allMessages(messages: readonly DescMessage[]): DescMessage[] {
  return messages.flatMap((m) => [m, ...allMessages(m.nestedMessages)]);
}

function allEnums(file: DescFile): DescEnum[] {
  const nested = (ms: readonly DescMessage[]): DescEnum[] =>
    ms.flatMap((m) => [...m.nestedEnums, ...nested(m.nestedMessages)]);
  return [...file.enums, ...nested(file.messages)];
}

export interface EmitOptions {
  /** Files generated in this run (others' messages get private local functions). */
  generated: ReadonlySet<string>;
  /** Import path of the protobuf-es output dir, relative to this plugin's out dir. */
  esOut: string;
}

/** Messages and enums a file's functions need: its own plus those reached from other files. */
function closure(file: DescFile): { messages: DescMessage[]; enums: DescEnum[] } {
  const messages = new Map<string, DescMessage>();
  const enums = new Map<string, DescEnum>();
  const visit = (m: DescMessage) => {
    if (messages.has(m.typeName) || m.typeName === structTypeName) return;
    messages.set(m.typeName, m);
    for (const f of messageModel(m).fields) {
      if (f.value.kind === "message") visit(f.value.message);
      if (f.value.kind === "enum") enums.set(f.value.enum.desc.typeName, f.value.enum.desc);
    }
  };
  for (const m of allMessages(file.messages)) visit(m);
  for (const e of allEnums(file)) enums.set(e.typeName, e);
  return { messages: [...messages.values()], enums: [...enums.values()] };
}

class Emitter {
  readonly lines: string[] = [];
  private readonly consts: string[] = [];
  private constCount = 0;
  readonly imports = new ImportTokens();

  constructor(
    readonly file: DescFile,
    readonly opts: EmitOptions,
  ) {}

  /** The text standing for `name` imported from `from` (a package, or a path relative to the out dir). */
  addImport(from: string, name: string, typeOnly: boolean): string {
    return this.imports.token(name, from, typeOnly);
  }

  constant(expr: string): string {
    const name = `c${this.constCount++}`;
    this.consts.push(`const ${name} = ${expr};`);
    return name;
  }

  /** Whether a message's functions are exported by some generated module. */
  isPublic(desc: DescMessage): boolean {
    return this.opts.generated.has(desc.file.name);
  }

  /** Function-name stem of a message: BehaviorEvent, or google_protobuf_FieldMask for a private one. */
  stem(desc: DescMessage): string {
    return this.isPublic(desc) ? localName(desc) : `_${ident(desc.typeName)}`;
  }

  fnValidate(desc: DescMessage): string {
    return this.ref(desc, `validate${this.stem(desc)}`);
  }
  fnToWire(desc: DescMessage): string {
    return this.ref(desc, `${lowerFirst(this.stem(desc))}ToWire`);
  }
  fnFromWire(desc: DescMessage): string {
    return this.ref(desc, `${lowerFirst(this.stem(desc))}FromWire`);
  }
  fnNormalize(desc: DescMessage): string {
    return this.ref(desc, `normalize${this.stem(desc)}`);
  }

  private ref(desc: DescMessage, name: string): string {
    if (desc.file !== this.file && this.isPublic(desc)) {
      return this.addImport(`./${validatorFileName(desc.file).replace(/\.ts$/, ".js")}`, name, false);
    }
    return name;
  }

  /** The protobuf-es module of a file, relative to the out dir. */
  esModule(file: DescFile): string {
    if (file.name.startsWith("google/protobuf/")) return "@bufbuild/protobuf/wkt";
    return `${this.opts.esOut}/${file.name.replace(/\.proto$/, "")}_pb.js`;
  }

  shapeType(desc: DescMessage | DescEnum): string {
    return this.addImport(this.esModule(desc.file), localName(desc), true);
  }

  schemaConst(desc: DescMessage): string {
    return this.addImport(this.esModule(desc.file), `${localName(desc)}Schema`, false);
  }

  wireType(desc: DescMessage): string {
    if (desc.file === this.file)
      return this.addImport(`./${wireFileName(this.file).replace(/\.ts$/, ".js")}`, wireTypeName(desc), true);
    return "Record<string, unknown>";
  }

  enumTables(desc: DescEnum): { wire: string; any: string; byName: string; toWire: string; numToWire: string } {
    const id = `enum_${ident(desc.typeName)}`;
    return {
      wire: `${id}_wire`,
      any: `${id}_any`,
      byName: `${id}_byName`,
      toWire: `${id}_toWire`,
      numToWire: `${id}_numToWire`,
    };
  }

  constants(): string {
    return this.consts.join("\n");
  }
}

/** A check's bound as data (true for required). */
function checkValue(c: Check): unknown {
  switch (c.rule) {
    case "required":
      return true;
    case "range":
      return { min: c.min, max: c.max };
    case "allowed_values":
      return c.values;
    case "pattern":
      return c.pattern;
    default:
      return c.max;
  }
}

/** Prints the validator module of `file` (tables, functions; protoplugin writes the imports) into `f`. */
export function emitValidatorModule(f: GeneratedFile, file: DescFile, opts: EmitOptions): void {
  const e = new Emitter(file, opts);
  const { messages, enums } = closure(file);
  // The literal re-export below is relative to the generated file; imports go through tokens.
  const violationModule = `${"../".repeat(file.name.split("/").length - 1)}violation.js`.replace(/^(?!\.)/, "./");

  const body: string[] = [];
  body.push(`export { hasErrors };`);
  body.push(`export type { Severity, Violation, ViolationRule, WireMode } from ${lit(violationModule)};`);
  const ownMessages = allMessages(file.messages);
  if (ownMessages.length > 0) {
    body.push(
      `export type { ${ownMessages.map((m) => wireTypeName(m)).join(", ")} } from ${lit(`./${baseName(file)}_wire.js`)};`,
    );
  }
  body.push("");

  // Enum tables (private) for every enum used, public maps for the file's own.
  for (const en of enums) {
    const t = e.enumTables(en);
    const m = enumModel(en);
    body.push(`const ${t.wire}: ReadonlySet<string> = new Set(${lit(enumNames(en, false))});`);
    body.push(`const ${t.any}: ReadonlySet<string> = new Set(${lit(enumNames(en, true))});`);
    body.push(
      `const ${t.byName}: ReadonlyMap<string, number> = new Map(${lit(
        m.values.flatMap((v) => [
          [v.wireName, v.number],
          [v.protoName, v.number],
        ]),
      )});`,
    );
    body.push(
      `const ${t.toWire}: ReadonlyMap<string, string> = new Map(${lit(
        m.values.flatMap((v) => [
          [v.wireName, v.wireName],
          [v.protoName, v.wireName],
        ]),
      )});`,
    );
    body.push(
      `const ${t.numToWire}: ReadonlyMap<number, string> = new Map(${lit(m.values.map((v) => [v.number, v.wireName]))});`,
    );
    if (en.file === file) {
      const n = lowerFirst(localName(en));
      const T = e.shapeType(en);
      body.push(`/** Wire name → proto name of ${en.typeName}. */`);
      body.push(
        `export const ${n}WireToProto: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, ${lit(Object.fromEntries(m.values.map((v) => [v.wireName, v.protoName])))}));`,
      );
      body.push(`/** Proto name → wire name of ${en.typeName}. */`);
      body.push(
        `export const ${n}ProtoToWire: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, ${lit(Object.fromEntries(m.values.map((v) => [v.protoName, v.wireName])))}));`,
      );
      body.push(`/** Wire names of ${en.typeName} in declaration order (zero value excluded). */`);
      body.push(
        `export const ${n}WireNames: readonly string[] = Object.freeze(${lit(m.values.map((v) => v.wireName))});`,
      );
      body.push(`/** ${en.typeName} value of a wire or proto name; undefined when unknown. */`);
      body.push(
        `export function ${n}FromWire(name: string): ${T} | undefined {\n  return ${t.byName}.get(name) as ${T} | undefined;\n}`,
      );
      body.push(`/** Wire name of a ${en.typeName} value; undefined for the zero value and unknown values. */`);
      body.push(
        `export function ${n}ToWire(value: ${T}): string | undefined {\n  return ${t.numToWire}.get(value);\n}`,
      );
    }
    body.push("");
  }

  // Scenario tables.
  const scs = scenarios(file);
  if (scs.length > 0) {
    const actionEnum = findActionEnum(file);
    const wireOf = (proto: string) =>
      actionEnum ? (enumModel(actionEnum).values.find((v) => v.protoName === proto)?.wireName ?? proto) : proto;
    body.push(`/** Scenario types (template ids), in declaration order. */`);
    body.push(`export const scenarioTypes: readonly string[] = Object.freeze(${lit(scs.map((s) => s.type))});`);
    body.push(`/** Member of the scenario oneof → scenario type, e.g. video_data → video. */`);
    body.push(
      `export const scenarioTypeByDataField: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, ${lit(Object.fromEntries(scs.map((s) => [s.dataField, s.type])))}));`,
    );
    body.push(`/** Scenario type → member of the scenario oneof, e.g. video → video_data. */`);
    body.push(
      `export const dataFieldByScenarioType: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, ${lit(Object.fromEntries(scs.map((s) => [s.type, s.dataField])))}));`,
    );
    body.push(`/** Scenario type → recommended actions (wire names); [] for free-form scenarios. */`);
    body.push(
      `export const recommendedActionsByScenarioType: Readonly<Record<string, readonly string[]>> = Object.freeze(Object.assign(Object.create(null) as Record<string, readonly string[]>, ${lit(Object.fromEntries(scs.map((s) => [s.type, s.recommendedActions.map(wireOf)])))}));`,
    );
    body.push("");
  }

  for (const m of messages) {
    const model = messageModel(m);
    body.push(emitValidate(e, model), "");
    body.push(emitToWire(e, model), "");
    body.push(emitFromWire(e, model), "");
    body.push(emitNormalize(e, model), "");
    if (m.file === file) {
      const k = kafkaRouting(m);
      if (k) body.push(emitKafka(e, model), "");
      // The options' bounds as data, for code that applies one itself (e.g. an SDK chunking batches).
      const ruled = model.fields.filter((f) => f.checks.length > 0);
      if (ruled.length > 0) {
        const rules = Object.fromEntries(
          ruled.map((f) => [f.name, Object.fromEntries(f.checks.map((c) => [c.rule, checkValue(c)]))]),
        );
        body.push(
          `/** Field rules of ${m.typeName} from its options, by wire field name. */`,
          `export const ${lowerFirst(localName(m))}FieldRules = ${JSON.stringify(rules)} as const;`,
          "",
        );
      }
    }
  }

  const src =
    `// Compiled validators and wire JSON codecs; see codegen/validator/API.md.\n\n${e.constants()}\n\n${body.join("\n")}`.replace(
      /\n{3,}/g,
      "\n\n",
    );
  // Fold adjacent string literals ("a" + " b" → "a b") left by the templates above.
  const folded = src.replace(/"((?:[^"\\\n]|\\.)*)" \+ "/g, '"$1');
  // The names the templates above write literally, as import tokens.
  const fixed: [RegExp, string, string, boolean][] = [
    [/\$Violation\b/g, "./violation.js", "Violation", true],
    [/\$WireMode\b/g, "./violation.js", "WireMode", true],
    [/(?<![\w.$])prefixViolations(?=\()/g, "./violation.js", "prefixViolations", false],
    [/(?<![\w.$])hasErrors\b/g, "./violation.js", "hasErrors", false],
    [/(?<![\w.$])create(?=\()/g, "@bufbuild/protobuf", "create", false],
    [/(?<![\w.$])MessageInitShape(?=<)/g, "@bufbuild/protobuf", "MessageInitShape", true],
    [/(?<=as )JsonObject\b/g, "@bufbuild/protobuf", "JsonObject", true],
  ];
  f.preamble(file);
  e.imports.print(
    f,
    fixed
      .reduce((text, [re, from, name, typeOnly]) => text.replace(re, () => e.addImport(from, name, typeOnly)), folded)
      .trimEnd(),
  );
}

function findActionEnum(file: DescFile): DescEnum | undefined {
  for (const m of allMessages(file.messages)) {
    const rule = recommendedActionRule(messageModel(m));
    if (rule && rule.actionField.value.kind === "enum") return rule.actionField.value.enum.desc;
  }
  const wanted = scenarios(file).flatMap((s) => s.recommendedActions);
  return file.enums.find((en) => wanted.every((w) => en.values.some((v) => v.name === w)));
}

// ---------------------------------------------------------------------------------------
// validate

type Sev = "error" | "warning";

function push(path: string, rule: string, message: string, severity: Sev | string): string {
  const sev = severity === "error" || severity === "warning" ? lit(severity) : severity;
  return `out.push({ field: ${path}, rule: ${lit(rule)}, message: ${message}, severity: ${sev} });`;
}

function describeRange(c: Extract<Check, { rule: "range" }>): string {
  if (c.min !== undefined && c.max !== undefined) return `between ${c.min} and ${c.max}`;
  if (c.min !== undefined) return `at least ${c.min}`;
  return `at most ${c.max}`;
}

function integerTypeName(kind: Extract<WireKind, { kind: "integer" }>): string {
  if (kind.int64) return kind.min < 0 ? "int64 (an integer within ±(2^53-1))" : "uint64 (an integer within 0..2^53-1)";
  return kind.min < 0 ? "int32" : "uint32";
}

/**
 * Code checking the value in variable `v` (already known not to be null/undefined, except
 * for list elements), whose relative path is the expression `path`.
 */
function valueChecks(
  e: Emitter,
  kind: WireKind,
  checks: Check[],
  v: string,
  path: string,
  requiredSev: string | undefined,
  ind: string,
): string[] {
  const L: string[] = [];
  const elseBlock = (inner: string[]) => (inner.length === 0 ? [] : [`${ind}} else {`, ...inner.map((l) => "  " + l)]);
  switch (kind.kind) {
    case "string": {
      const inner: string[] = [];
      // An empty required string is reported once, as missing, not also as a pattern break.
      const rest: string[] = [];
      for (const c of checks) {
        if (c.rule === "max_len") {
          rest.push(
            `${ind}if (${v}.length > ${c.max}) ${push(path, "max_len", `${path} + " must be at most ${c.max} characters long, got " + ${v}.length`, c.severity)}`,
          );
        } else if (c.rule === "pattern") {
          const re = e.constant(`new RegExp(${lit(c.pattern)}, "u")`);
          rest.push(
            `${ind}if (!${re}.test(${v})) ${push(path, "pattern", `${path} + " must match ${c.pattern.replace(/[\\"]/g, (x) => "\\" + x)}, got " + JSON.stringify(${v})`, c.severity)}`,
          );
        } else if (c.rule === "allowed_values") {
          const set = e.constant(`new Set(${lit(c.values)}) as ReadonlySet<string>`);
          rest.push(
            `${ind}if (!${set}.has(${v})) ${push(path, "allowed_values", `${path} + ${lit(` must be one of ${c.values.join(", ")}, got `)} + JSON.stringify(${v})`, c.severity)}`,
          );
        }
      }
      if (requiredSev && rest.length > 0) {
        inner.push(
          `${ind}if (${v}.length === 0) {`,
          `${ind}  ${push(path, "required", `${path} + " is required"`, requiredSev)}`,
          `${ind}} else {`,
          ...rest.map((l) => "  " + l),
          `${ind}}`,
        );
      } else if (requiredSev) {
        inner.push(`${ind}if (${v}.length === 0) ${push(path, "required", `${path} + " is required"`, requiredSev)}`);
      } else {
        inner.push(...rest);
      }
      L.push(
        `${ind}if (typeof ${v} !== "string") {`,
        `${ind}  ${push(path, "type", `${path} + " must be a string"`, "error")}`,
        ...elseBlock(inner),
        `${ind}}`,
      );
      break;
    }
    case "bool":
      L.push(`${ind}if (typeof ${v} !== "boolean") ${push(path, "type", `${path} + " must be a boolean"`, "error")}`);
      break;
    case "integer":
    case "number": {
      const cond =
        kind.kind === "integer"
          ? `typeof ${v} !== "number" || !Number.isInteger(${v}) || ${v} < ${kind.min} || ${v} > ${kind.max}`
          : `typeof ${v} !== "number" || !Number.isFinite(${v})`;
      const what = kind.kind === "integer" ? `an ${integerTypeName(kind)}` : "a finite number";
      const inner: string[] = [];
      for (const c of checks) {
        if (c.rule !== "range") continue;
        const conds = [c.min !== undefined ? `${v} < ${c.min}` : "", c.max !== undefined ? `${v} > ${c.max}` : ""]
          .filter(Boolean)
          .join(" || ");
        if (conds)
          inner.push(
            `${ind}if (${conds}) ${push(path, "range", `${path} + " must be ${describeRange(c)}, got " + ${v}`, c.severity)}`,
          );
      }
      L.push(
        `${ind}if (${cond}) {`,
        `${ind}  ${push(path, "type", `${path} + " must be ${what}, got " + JSON.stringify(${v})`, "error")}`,
        ...elseBlock(inner),
        `${ind}}`,
      );
      break;
    }
    case "enum": {
      const t = e.enumTables(kind.enum.desc);
      const names = kind.enum.values.map((x) => x.wireName).join(", ");
      L.push(
        `${ind}if (typeof ${v} !== "string") {`,
        `${ind}  ${push(path, "type", `${path} + ${lit(` must be a string, one of ${names}`)}`, "error")}`,
        `${ind}} else if (!(mode === "kafka" ? ${t.wire} : ${t.any}).has(${v})) {`,
        `${ind}  ${push(path, "enum", `${path} + ${lit(` must be one of ${names}`)} + (mode === "kafka" ? "" : " (or their ${kind.enum.desc.name} proto names)") + ", got " + JSON.stringify(${v})`, "error")}`,
        `${ind}}`,
      );
      break;
    }
    case "struct":
      L.push(
        `${ind}if (typeof ${v} !== "object" || ${v} === null || Array.isArray(${v})) ${push(path, "type", `${path} + " must be a JSON object"`, "error")}`,
      );
      break;
    case "message": {
      L.push(
        `${ind}if (typeof ${v} !== "object" || ${v} === null || Array.isArray(${v})) {`,
        `${ind}  ${push(path, "type", `${path} + " must be an object"`, "error")}`,
        `${ind}} else {`,
        `${ind}  const n = out.length;`,
        `${ind}  ${e.fnValidate(kind.message)}(${v}, mode, out);`,
        `${ind}  if (out.length > n) prefixViolations(out, n, ${path});`,
        `${ind}}`,
      );
      break;
    }
  }
  return L;
}

function emitField(e: Emitter, f: FieldModel): string[] {
  const L: string[] = [];
  const name = f.name;
  const P = lit(name);
  // all checks with their own severity; the validator always reports warnings too
  const all = activeChecks(f, variantRules.strict);
  const req = f.checks.find((c) => c.rule === "required");
  // Severity expression when the field is required, undefined when it never is.
  let reqSev: string | undefined;
  if (req && req.severity === "error") reqSev = lit("error");
  else if (f.serverFilled && req) reqSev = `(mode === "kafka" ? "error" : "warning")`;
  else if (f.serverFilled) reqSev = "kafka-only";
  else if (req) reqSev = lit("warning");
  L.push(`  v = o.${safeProp(name)};`);
  const missing = (ind: string) => {
    const msg = `${P} + " is required"`;
    if (reqSev === undefined) return [];
    if (reqSev === "kafka-only") return [`${ind}if (mode === "kafka") ${push(P, "required", msg, "error")}`];
    return [`${ind}${push(P, "required", msg, reqSev)}`];
  };
  const miss = missing("    ");
  if (miss.length > 0) {
    L.push(`  if (v === undefined || v === null) {`, ...miss, `  } else {`);
  } else {
    L.push(`  if (v !== undefined && v !== null) {`);
  }
  const strReq =
    f.cardinality === "single" && f.value.kind === "string" && reqSev !== undefined
      ? reqSev === "kafka-only"
        ? `(mode === "kafka" ? "error" : undefined)`
        : reqSev
      : undefined;
  if (f.cardinality === "single") {
    if (strReq !== undefined && reqSev === "kafka-only") {
      // only required in kafka mode: emit the empty-string check conditionally
      const lines = valueChecks(e, f.value, all, "v", P, `"error"`, "    ");
      L.push(...lines.map((l) => l.replace(`if (v.length === 0)`, `if (mode === "kafka" && v.length === 0)`)));
    } else {
      L.push(...valueChecks(e, f.value, all, "v", P, strReq, "    "));
    }
  } else if (f.cardinality === "list") {
    const mi = all.find((c) => c.rule === "max_items");
    L.push(
      `    if (!Array.isArray(v)) {`,
      `      ${push(P, "type", `${P} + " must be an array"`, "error")}`,
      `    } else {`,
    );
    if (mi && mi.rule === "max_items")
      L.push(
        `      if (v.length > ${mi.max}) ${push(P, "max_items", `${P} + " must have at most ${mi.max} items, got " + v.length`, mi.severity)}`,
      );
    L.push(`      for (let i = 0; i < v.length; i++) {`, `        const x: unknown = v[i];`);
    L.push(...valueChecks(e, f.value, all, "x", `${lit(name + "[")} + i + "]"`, undefined, "        "));
    L.push(`      }`, `    }`);
  } else {
    const mi = all.find((c) => c.rule === "max_items");
    L.push(
      `    if (typeof v !== "object" || Array.isArray(v)) {`,
      `      ${push(P, "type", `${P} + " must be an object"`, "error")}`,
      `    } else {`,
    );
    L.push(`      const map = v as Record<string, unknown>;`, `      let count = 0;`);
    L.push(`      for (const k in map) {`, `        count++;`, `        const x: unknown = map[k];`);
    L.push(...valueChecks(e, f.value, all, "x", `${lit(name + ".")} + k`, undefined, "        "));
    L.push(`      }`);
    if (mi && mi.rule === "max_items")
      L.push(
        `      if (count > ${mi.max}) ${push(P, "max_items", `${P} + " must have at most ${mi.max} entries, got " + count`, mi.severity)}`,
      );
    else L.push(`      void count;`);
    L.push(`    }`);
  }
  L.push(`  }`);
  return L;
}

function safeProp(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : `[${lit(name)}]`;
}

/**
 * For noUnusedLocals/noUnusedParameters: drops an unused `const o = …` line and marks
 * parameters the body never names with `_` (a message without fields uses neither).
 * `L` is one emitted function, its doc comment first.
 */
function tidy(L: string[]): string[] {
  const uses = (name: string, text: string) => new RegExp(`(?<![\\w.$"'])${name}(?![\\w$"'])`).test(text);
  const oi = L.findIndex((l) => l.startsWith("  const o = "));
  const out = oi >= 0 && !uses("o", L.slice(oi + 1).join("\n")) ? L.filter((_, i) => i !== oi) : [...L];
  const sig = out.findIndex((l) => /function \w+\(/.test(l));
  const body = out.slice(sig + 1).join("\n");
  out[sig] = (out[sig] ?? "").replace(/\b(input|mode|msg|json|defaults)(?=: | = )/g, (n) =>
    uses(n, body) ? n : `_${n}`,
  );
  return out;
}

function sortedFields(model: MessageModel): FieldModel[] {
  return [...model.fields].sort((a, b) => a.desc.number - b.desc.number);
}

function emitValidate(e: Emitter, model: MessageModel): string {
  const desc = model.desc;
  const exported = e.isPublic(desc) && desc.file === e.file;
  if (!exported && e.isPublic(desc)) return ""; // imported from its own module
  const fn = `validate${e.stem(desc)}`;
  const L: string[] = [];
  L.push(
    `/**`,
    ` * Validates ${desc.typeName} wire JSON, collecting every violation into \`out\`.`,
    ` * Field paths are relative to \`path\` (a dotted prefix such as "events[3]").`,
    ` */`,
  );
  L.push(
    `${exported ? "export " : ""}function ${fn}(input: unknown, mode: $WireMode, out: $Violation[] = [], path = ""): $Violation[] {`,
  );
  L.push(`  if (typeof input !== "object" || input === null || Array.isArray(input)) {`);
  L.push(`    ${push("path", "type", `(path || "value") + " must be an object (${desc.name})"`, "error")}`);
  L.push(`    return out;`, `  }`);
  L.push(`  const start = out.length;`, `  const o = input as Record<string, unknown>;`);
  if (model.fields.length > 0) L.push(`  let v: unknown;`);
  for (const f of sortedFields(model)) L.push(...emitField(e, f));
  for (const oneof of model.oneofs) {
    const names = oneof.fields.map((m) => m.name);
    L.push(`  {`, `    let set = 0;`);
    for (const n of names) L.push(`    if (o.${safeProp(n)} !== undefined && o.${safeProp(n)} !== null) set++;`);
    L.push(
      `    if (set > 1) {`,
      `      let members = "";`,
      ...names.map(
        (n) =>
          `      if (o.${safeProp(n)} !== undefined && o.${safeProp(n)} !== null) members += (members === "" ? "" : ", ") + ${lit(n)};`,
      ),
      `      ${push(`""`, "oneof", `${lit(`oneof ${oneof.name}: at most one of ${names.join(", ")} may be set, got `)} + members`, "error")}`,
      `    }`,
      `  }`,
    );
  }
  const rec = recommendedActionRule(model);
  if (rec && rec.actionField.value.kind === "enum") {
    const t = e.enumTables(rec.actionField.value.enum.desc);
    const sf = rec.scenarioField.name;
    const af = rec.actionField.name;
    const enumDesc = rec.actionField.value.enum.desc;
    L.push(`  {`, `    const s = o.${safeProp(sf)};`, `    const a = o.${safeProp(af)};`);
    L.push(
      `    if (typeof a === "string" && typeof s === "object" && s !== null && !Array.isArray(s) && ${t.any}.has(a)) {`,
    );
    L.push(`      const sd = s as Record<string, unknown>;`);
    for (const { member, actions } of rec.members) {
      const names = enumNames(enumDesc, true).filter((n) => {
        const v = enumModel(enumDesc).values.find((x) => x.wireName === n || x.protoName === n);
        return v !== undefined && actions.includes(v.protoName);
      });
      const wires = enumModel(enumDesc)
        .values.filter((x) => actions.includes(x.protoName))
        .map((x) => x.wireName);
      const set = e.constant(`new Set(${lit(names)}) as ReadonlySet<string>`);
      const mp = safeProp(member.name);
      L.push(
        `      if (sd.${mp} !== undefined && sd.${mp} !== null && !${set}.has(a)) {`,
        `        ${push(lit(af), "recommended_action", `${lit(`${af} `)} + JSON.stringify(a) + ${lit(` is not a recommended action when ${sf}.${member.name} is set (recommended: ${wires.join(", ")})`)}`, "warning")}`,
        `      }`,
      );
    }
    L.push(`    }`, `  }`);
  }
  // unknown keys
  L.push(`  for (const k in o) {`, `    switch (k) {`);
  for (const f of sortedFields(model)) L.push(`      case ${lit(f.name)}:`);
  if (model.fields.length > 0) L.push(`        break;`);
  L.push(
    `      default:`,
    `        ${push("k", "unknown_field", `"unknown field " + k + " (ignored)"`, "warning")}`,
    `    }`,
    `  }`,
  );
  L.push(`  if (path !== "" && out.length > start) prefixViolations(out, start, path);`, `  return out;`, `}`);
  return tidy(L).join("\n");
}

// ---------------------------------------------------------------------------------------
// toWire / fromWire / normalize

function zeroCheck(kind: WireKind, x: string): string {
  switch (kind.kind) {
    case "string":
      return `${x} !== ""`;
    case "bool":
      return `${x}`;
    case "integer":
      return kind.int64 ? `${x} !== 0n` : `${x} !== 0`;
    case "number":
    case "enum":
      return `${x} !== 0`;
    default:
      return `${x} !== undefined`;
  }
}

function toWireValue(e: Emitter, kind: WireKind, x: string): string {
  switch (kind.kind) {
    case "integer":
      return kind.int64 ? `Number(${x})` : x;
    case "enum":
      return `${e.enumTables(kind.enum.desc).numToWire}.get(${x})`;
    case "message":
      return `${e.fnToWire(kind.message)}(${x}, defaults)`;
    default:
      return x;
  }
}

function emitToWire(e: Emitter, model: MessageModel): string {
  const desc = model.desc;
  const exported = e.isPublic(desc) && desc.file === e.file;
  if (!exported && e.isPublic(desc)) return "";
  const T = e.shapeType(desc);
  const W = e.wireType(desc);
  const L: string[] = [];
  L.push(
    `/**`,
    ` * ${desc.typeName} → canonical wire JSON (field-number order, wire enum names, unset values omitted).`,
    ` * \`defaults\`: also write implicit-presence zero values, as REST responses do (\`"success": false\`).`,
    ` */`,
  );
  L.push(`${exported ? "export " : ""}function ${lowerFirst(e.stem(desc))}ToWire(msg: ${T}, defaults = false): ${W} {`);
  L.push(`  const w: Record<string, unknown> = {};`);
  for (const f of sortedFields(model)) {
    const prop = camel(f.desc.name) === f.desc.localName ? f.desc.localName : f.desc.localName;
    const key = safeProp(f.name);
    if (f.oneof) {
      const o = `msg.${f.oneof.localName}`;
      L.push(`  if (${o}.case === ${lit(prop)}) w.${key} = ${toWireValue(e, f.value, `${o}.value`)};`);
      continue;
    }
    const x = `msg.${prop}`;
    if (f.cardinality === "list") {
      const conv = toWireValue(e, f.value, "x");
      L.push(`  if (${x}.length > 0) w.${key} = ${conv === "x" ? `${x}.slice()` : `${x}.map((x) => ${conv})`};`);
    } else if (f.cardinality === "map") {
      L.push(`  {`, `    const m = ${x};`, `    let any = false;`, `    const r: Record<string, unknown> = {};`);
      L.push(
        `    for (const k in m) {`,
        `      any = true;`,
        `      r[k] = ${toWireValue(e, f.value, "m[k]")};`,
        `    }`,
        `    if (any) w.${key} = r;`,
        `  }`,
      );
    } else if (f.value.kind === "enum") {
      L.push(
        `  if (${x} !== undefined && ${x} !== 0) {`,
        `    const n = ${toWireValue(e, f.value, x)};`,
        `    if (n !== undefined) w.${key} = n;`,
        `  }`,
      );
    } else if (f.implicitPresence) {
      L.push(`  if (defaults || ${zeroCheck(f.value, x)}) w.${key} = ${toWireValue(e, f.value, x)};`);
    } else {
      L.push(`  if (${x} !== undefined) w.${key} = ${toWireValue(e, f.value, x)};`);
    }
  }
  L.push(`  return w as unknown as ${W};`, `}`);
  return tidy(L).join("\n");
}

function fromWireValue(e: Emitter, kind: WireKind, x: string): string {
  switch (kind.kind) {
    case "integer":
      return kind.int64 ? `BigInt(${x} as number)` : `${x} as number`;
    case "enum":
      return `${e.enumTables(kind.enum.desc).byName}.get(${x} as string)`;
    case "message":
      return `${e.fnFromWire(kind.message)}(${x})`;
    case "string":
      return `${x} as string`;
    case "bool":
      return `${x} as boolean`;
    case "number":
      return `${x} as number`;
    case "struct":
      return `${x} as JsonObject`;
  }
}

function emitFromWire(e: Emitter, model: MessageModel): string {
  const desc = model.desc;
  const exported = e.isPublic(desc) && desc.file === e.file;
  if (!exported && e.isPublic(desc)) return "";
  const T = e.shapeType(desc);
  const S = e.schemaConst(desc);
  const L: string[] = [];
  L.push(`/** Wire JSON (request or Kafka mode, without errors) → ${desc.typeName}. */`);
  L.push(`${exported ? "export " : ""}function ${lowerFirst(e.stem(desc))}FromWire(json: unknown): ${T} {`);
  L.push(`  const o = json as Record<string, unknown>;`, `  const init: Record<string, unknown> = {};`);
  if (model.fields.length > 0) L.push(`  let v: unknown;`);
  for (const f of sortedFields(model)) {
    const prop = f.desc.localName;
    L.push(`  v = o.${safeProp(f.name)};`);
    if (f.cardinality === "list") {
      const conv = fromWireValue(e, f.value, "x");
      L.push(`  if (v !== undefined && v !== null) init.${prop} = (v as unknown[]).map((x) => ${conv});`);
    } else if (f.cardinality === "map") {
      L.push(
        `  if (v !== undefined && v !== null) {`,
        `    const m = v as Record<string, unknown>;`,
        `    const r: Record<string, unknown> = {};`,
      );
      L.push(`    for (const k in m) r[k] = ${fromWireValue(e, f.value, "m[k]")};`, `    init.${prop} = r;`, `  }`);
    } else if (f.oneof) {
      L.push(
        `  if (v !== undefined && v !== null) init.${f.oneof.localName} = { case: ${lit(prop)}, value: ${fromWireValue(e, f.value, "v")} };`,
      );
    } else {
      L.push(`  if (v !== undefined && v !== null) init.${prop} = ${fromWireValue(e, f.value, "v")};`);
    }
  }
  L.push(`  return create(${S}, init as MessageInitShape<typeof ${S}>);`, `}`);
  return tidy(L).join("\n");
}

function normalizeValue(e: Emitter, kind: WireKind, x: string): string {
  switch (kind.kind) {
    case "enum":
      return `${e.enumTables(kind.enum.desc).toWire}.get(${x} as string)`;
    case "message":
      return `${e.fnNormalize(kind.message)}(${x})`;
    default:
      return x;
  }
}

function emitNormalize(e: Emitter, model: MessageModel): string {
  const desc = model.desc;
  const exported = e.isPublic(desc) && desc.file === e.file;
  if (!exported && e.isPublic(desc)) return "";
  const W = e.wireType(desc);
  const L: string[] = [];
  L.push(
    `/** Request JSON (validated, no errors) → canonical wire JSON, without protobuf; unknown keys and nulls dropped. */`,
  );
  L.push(`${exported ? "export " : ""}function normalize${e.stem(desc)}(input: unknown): ${W} {`);
  L.push(`  const o = input as Record<string, unknown>;`, `  const w: Record<string, unknown> = {};`);
  if (model.fields.length > 0) L.push(`  let v: unknown;`);
  for (const f of sortedFields(model)) {
    const key = safeProp(f.name);
    L.push(`  v = o.${key};`);
    if (f.cardinality === "list") {
      const conv = normalizeValue(e, f.value, "x");
      L.push(
        `  if (v !== undefined && v !== null && (v as unknown[]).length > 0) w.${key} = ${conv === "x" ? "v" : `(v as unknown[]).map((x) => ${conv})`};`,
      );
    } else if (f.cardinality === "map") {
      const conv = normalizeValue(e, f.value, "m[k]");
      L.push(
        `  if (v !== undefined && v !== null) {`,
        `    const m = v as Record<string, unknown>;`,
        `    let any = false;`,
      );
      if (conv === "m[k]") {
        L.push(`    for (const _k in m) {`, `      any = true;`, `      break;`, `    }`, `    if (any) w.${key} = m;`);
      } else {
        L.push(
          `    const r: Record<string, unknown> = {};`,
          `    for (const k in m) {`,
          `      any = true;`,
          `      r[k] = ${conv};`,
          `    }`,
          `    if (any) w.${key} = r;`,
        );
      }
      L.push(`  }`);
    } else if (f.implicitPresence && f.value.kind !== "enum") {
      const zero = f.value.kind === "string" ? `""` : f.value.kind === "bool" ? "false" : "0";
      L.push(`  if (v !== undefined && v !== null && v !== ${zero}) w.${key} = v;`);
    } else {
      L.push(`  if (v !== undefined && v !== null) w.${key} = ${normalizeValue(e, f.value, "v")};`);
    }
  }
  L.push(`  return w as unknown as ${W};`, `}`);
  return tidy(L).join("\n");
}

// ---------------------------------------------------------------------------------------
// Kafka

function emitKafka(e: Emitter, model: MessageModel): string {
  const k = model.kafka!;
  const desc = model.desc;
  const n = lowerFirst(localName(desc));
  const W = e.wireType(desc);
  const stringField = (name: string) => {
    const f = model.fields.find((x) => x.name === name);
    if (f?.cardinality !== "single" || f.value.kind !== "string")
      throw new Error(`${desc.typeName}: kafka option names ${name}, which is not a top-level string field`);
    return f;
  };
  const parts: string[] = [];
  const used: string[] = [];
  const re = /\{([a-z_][a-z0-9_]*)\}/g;
  let last = 0;
  for (let m = re.exec(k.topicTemplate); m; m = re.exec(k.topicTemplate)) {
    if (m.index > last) parts.push(lit(k.topicTemplate.slice(last, m.index)));
    const name = m[1] ?? "";
    stringField(name);
    parts.push(`e.${name}`);
    used.push(name);
    last = m.index + m[0].length;
  }
  if (last < k.topicTemplate.length) parts.push(lit(k.topicTemplate.slice(last)));
  stringField(k.keyField);
  const topicArg = used.length > 0 ? `{ ${[...new Set(used)].map((u) => `${u}: string`).join("; ")} }` : "unknown";
  const L: string[] = [];
  L.push(`/** Kafka routing of ${desc.typeName}, from its kafka option. */`);
  L.push(`export const ${n}Kafka = {`);
  L.push(
    `  topicTemplate: ${lit(k.topicTemplate)},`,
    `  keyField: ${lit(k.keyField)},`,
    `  schemaVersion: ${lit(k.schemaVersion)},`,
  );
  L.push(`  /** Topic of an event: ${k.topicTemplate}. */`);
  L.push(`  topic(e: ${topicArg}): string {`, `    return ${parts.length > 0 ? parts.join(" + ") : '""'};`, `  },`);
  L.push(`  /** Message key of an event: its ${k.keyField}. */`);
  L.push(`  key(e: { ${k.keyField}: string }): string {`, `    return e.${k.keyField};`, `  },`);
  L.push(`} as const;`, ``);
  // Measured (Node 24, seed event): a generated field-by-field encoder was only ~10-15% faster and
  // equals JSON.stringify only for canonical key order, so the value is JSON.stringify's.
  L.push(`/** The Kafka message value of a wire event: exactly JSON.stringify(e). */`);
  L.push(`export function encode${localName(desc)}KafkaJson(e: ${W}): string {`, `  return JSON.stringify(e);`, `}`);
  return L.join("\n");
}
