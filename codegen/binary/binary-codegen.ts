/**
 * Emits the protobuf binary codec module of one proto file (`<file>_binary.ts`): for every
 * message reachable from the file's ingest RPCs (TRACK, TRACK_BATCH, VALIDATE), a decoder
 * straight from protobuf binary to the canonical wire JSON (the same object, key order
 * included, as the validator's `xToWire(fromBinary(XSchema, bytes))`), and for the
 * messages reachable from their responses an encoder from the protobuf-es message to
 * binary (the same bytes as `toBinary`). Straight-line code per message: no descriptors,
 * no reflection and no closures at run time.
 *
 * Decisions (see codegen/binary/README.md):
 * - 64-bit integers decode to the nearest JS number (what the validator's toWire does with
 *   Number(bigint)); values beyond ±(2^53-1) are left to the validator's range check.
 * - A known field number with an unexpected wire type is skipped like an unknown field
 *   (what protobuf C++/Go do); invalid data (truncation, bad varints, invalid UTF-8 in a
 *   string, wire types 6/7, unbalanced groups, nesting beyond 100) throws DecodeError.
 * - A singular message field seen twice is merged (protobuf semantics: as if the
 *   occurrences' bytes were concatenated); a oneof keeps its last member.
 */
import { type DescEnum, type DescField, type DescFile, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import type { GeneratedFile } from "@bufbuild/protoplugin";
import { ImportTokens } from "../common/import-tokens.js";
import { type IngestMethod, ingestMethods } from "../common/ingest.js";
import { type FieldModel, type WireKind, enumModel, messageModel } from "../common/model.js";
import { localName } from "../common/validator-codegen.js";
import { wireTypeName } from "../common/wire-schema.js";

const structTypeName = "google.protobuf.Struct";
const lit = (v: unknown) => JSON.stringify(v);

/** The generated module's name for a proto file, e.g. recommender/v1/behavior_binary.ts. */
export function binaryFileName(file: DescFile): string {
  return `${file.name.replace(/\.proto$/, "")}_binary.ts`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function ident(desc: DescMessage | DescEnum): string {
  return desc.typeName.replace(/\./g, "_");
}

function safeProp(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : `[${lit(name)}]`;
}

/** Messages reachable from roots (themselves included), Struct excluded, in first-use order. */
function reachable(roots: readonly DescMessage[]): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const visit = (m: DescMessage) => {
    if (seen.has(m.typeName) || m.typeName === structTypeName) return;
    seen.set(m.typeName, m);
    for (const f of m.fields) {
      if (f.fieldKind === "message" || (f.fieldKind === "list" && f.listKind === "message") || (f.fieldKind === "map" && f.mapKind === "message")) visit(f.message);
    }
  };
  roots.forEach(visit);
  return [...seen.values()];
}

const WT = { varint: 0, bit64: 1, len: 2, bit32: 5 } as const;

function scalarWireType(t: ScalarType): number {
  switch (t) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WT.bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WT.bit32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WT.len;
    default:
      return WT.varint;
  }
}

/** Expression reading one scalar of type `t` (as the wire JSON value). */
function readScalar(t: ScalarType): string {
  switch (t) {
    case ScalarType.STRING:
      return "rstr(end)";
    case ScalarType.BOOL:
      return "rbool()";
    case ScalarType.DOUBLE:
      return "rf64()";
    case ScalarType.FLOAT:
      return "rf32()";
    case ScalarType.INT32:
      return "(rv32() | 0)";
    case ScalarType.UINT32:
      return "rv32()";
    case ScalarType.SINT32:
      return "rzz32()";
    case ScalarType.FIXED32:
      return "rfx32()";
    case ScalarType.SFIXED32:
      return "(rfx32() | 0)";
    case ScalarType.INT64:
      return "rint64()";
    case ScalarType.UINT64:
      return "ruint64()";
    case ScalarType.SINT64:
      return "rsint64()";
    case ScalarType.FIXED64:
      return "rfx64(false)";
    case ScalarType.SFIXED64:
      return "rfx64(true)";
    default:
      throw new Error(`unsupported scalar type ${ScalarType[t]}`);
  }
}

function zeroOf(kind: WireKind): string {
  switch (kind.kind) {
    case "string":
      return `""`;
    case "bool":
      return "false";
    default:
      return "0";
  }
}

function tsTypeOf(kind: WireKind): string {
  switch (kind.kind) {
    case "string":
      return "string";
    case "bool":
      return "boolean";
    default:
      return "number";
  }
}

class Module {
  readonly enums = new Map<string, DescEnum>();
  usesStruct = false;
  readonly imports = new ImportTokens();

  constructor(readonly file: DescFile, readonly opts: { validatorOut: string; esOut: string; handlersOut: string }) {}

  /** The text standing for type `name` from `from` (a package, or a path relative to the out dir). */
  importType(from: string, name: string): string {
    return this.imports.token(name, from, true);
  }

  /** Wire JSON type of a message (from the validator plugin's `<file>_wire.ts`). */
  wireType(desc: DescMessage): string {
    if (desc.file !== this.file) return "Record<string, unknown>";
    return this.importType(`${this.opts.validatorOut}/${desc.file.name.replace(/\.proto$/, "")}_wire.js`, wireTypeName(desc));
  }

  /** protobuf-es type of a message. */
  esType(desc: DescMessage): string {
    const from = desc.file.name.startsWith("google/protobuf/") ? "@bufbuild/protobuf/wkt" : `${this.opts.esOut}/${desc.file.name.replace(/\.proto$/, "")}_pb.js`;
    return this.importType(from, localName(desc));
  }

  enumTable(desc: DescEnum): string {
    this.enums.set(desc.typeName, desc);
    return `e_${ident(desc)}`;
  }
}

function enumTableSource(m: Module, desc: DescEnum): string {
  const values = enumModel(desc).values;
  const name = m.enumTable(desc);
  const dense = values.every((v) => v.number >= 0 && v.number < 256);
  if (dense) {
    const size = Math.max(0, ...values.map((v) => v.number)) + 1;
    const arr: (string | undefined)[] = new Array(size).fill(undefined);
    for (const v of values) arr[v.number] = v.wireName;
    return [
      `/** ${desc.typeName} number → wire name (undefined: zero or unknown value). */`,
      `const ${name}_t: readonly (string | undefined)[] = [${arr.map((x) => (x === undefined ? "undefined" : lit(x))).join(", ")}];`,
      `function ${name}(n: number): string | undefined {`,
      `  return n >= 0 && n < ${size} ? ${name}_t[n] : undefined;`,
      `}`,
    ].join("\n");
  }
  return [
    `const ${name}_t: ReadonlyMap<number, string> = new Map(${lit(values.map((v) => [v.number, v.wireName]))});`,
    `function ${name}(n: number): string | undefined {`,
    `  return ${name}_t.get(n);`,
    `}`,
  ].join("\n");
}

// ---------------------------------------------------------------------------------------
// decoders

function decName(desc: DescMessage): string {
  return `d_${ident(desc)}`;
}

/** Case labels and statements decoding one field into its locals. */
function decodeField(m: Module, f: FieldModel, v: string): string[] {
  const d = f.desc;
  const no = d.number;
  const L: string[] = [];
  const tag = (wt: number) => (no << 3) | wt;
  const lenPrefix = [`const len = rv32();`, `const e = P + len;`, `if (e > end || e < P) fail("truncated message");`];
  if (f.oneof) {
    const o = `o_${f.oneof.name}`;
    if (d.fieldKind === "scalar") {
      L.push(`case ${tag(scalarWireType(d.scalar))}:`, `  ${o}v = ${readScalar(d.scalar)};`, `  ${o} = ${no};`, `  break;`);
    } else if (d.fieldKind === "enum") {
      L.push(`case ${tag(WT.varint)}:`, `  ${o}v = rv32() | 0;`, `  ${o} = ${no};`, `  break;`);
    } else if (d.fieldKind === "message") {
      L.push(`case ${tag(WT.len)}: {`, ...lenPrefix.map((x) => "  " + x));
      if (d.message.typeName === structTypeName) {
        m.usesStruct = true;
        L.push(`  ${o}v = dStruct(e, ${o} === ${no} ? (${o}v as JsonObject) : {});`);
      } else {
        L.push(
          `  if (${o} === ${no}) {`,
          `    ${o}m = cat(${o}m ?? B.subarray(${o}s, ${o}e), B.subarray(P, e));`,
          `    ${o}v = sub(${decName(d.message)}, ${o}m);`,
          `  } else {`,
          `    ${o}s = P;`,
          `    ${o}e = e;`,
          `    ${o}m = undefined;`,
          `    ${o}v = ${decName(d.message)}(e);`,
          `  }`,
        );
      }
      L.push(`  ${o} = ${no};`, `  P = e;`, `  break;`, `}`);
    }
    return L;
  }
  switch (d.fieldKind) {
    case "scalar":
      L.push(`case ${tag(scalarWireType(d.scalar))}:`, `  ${v} = ${readScalar(d.scalar)};`, `  break;`);
      break;
    case "enum":
      L.push(`case ${tag(WT.varint)}:`, `  ${v} = rv32() | 0;`, `  break;`);
      break;
    case "message":
      L.push(`case ${tag(WT.len)}: {`, ...lenPrefix.map((x) => "  " + x));
      if (d.message.typeName === structTypeName) {
        m.usesStruct = true;
        L.push(`  ${v} = dStruct(e, ${v} ?? {});`);
      } else {
        L.push(
          `  if (${v} === undefined) {`,
          `    ${v}s = P;`,
          `    ${v}e = e;`,
          `    ${v} = ${decName(d.message)}(e);`,
          `  } else {`,
          `    ${v}m = cat(${v}m ?? B.subarray(${v}s, ${v}e), B.subarray(P, e));`,
          `    ${v} = sub(${decName(d.message)}, ${v}m);`,
          `  }`,
        );
      }
      L.push(`  P = e;`, `  break;`, `}`);
      break;
    case "list": {
      if (d.listKind === "message") {
        L.push(`case ${tag(WT.len)}: {`, ...lenPrefix.map((x) => "  " + x));
        if (d.message.typeName === structTypeName) {
          m.usesStruct = true;
          L.push(`  (${v} ??= []).push(dStruct(e, {}));`);
        } else {
          L.push(`  (${v} ??= []).push(${decName(d.message)}(e));`);
        }
        L.push(`  P = e;`, `  break;`, `}`);
        break;
      }
      const scalar = d.listKind === "enum" ? ScalarType.INT32 : d.scalar;
      const conv = (x: string) => (d.listKind === "enum" ? `${m.enumTable(d.enum)}(${x})` : x);
      const read = conv(d.listKind === "enum" ? "rv32() | 0" : readScalar(scalar));
      const wt = scalarWireType(scalar);
      if (wt !== WT.len) {
        L.push(`case ${tag(WT.len)}: {`, ...lenPrefix.map((x) => "  " + x), `  const a = (${v} ??= []);`, `  while (P < e) a.push(${read});`, `  if (P !== e) fail("truncated packed field");`, `  break;`, `}`);
      }
      L.push(`case ${tag(wt)}:`, `  (${v} ??= []).push(${read});`, `  break;`);
      break;
    }
    case "map": {
      if (d.mapKey !== ScalarType.STRING) throw new Error(`${d.toString()}: only string map keys are supported`);
      let valueTag: number;
      let read: string[];
      let init: string;
      if (d.mapKind === "scalar") {
        valueTag = (2 << 3) | scalarWireType(d.scalar);
        read = [`mv = ${readScalar(d.scalar).replace("(end)", "(e)")};`];
        init = f.value.kind === "string" ? `""` : f.value.kind === "bool" ? "false" : "0";
      } else if (d.mapKind === "enum") {
        valueTag = (2 << 3) | WT.varint;
        read = [`mv = ${m.enumTable(d.enum)}(rv32() | 0);`];
        init = `${m.enumTable(d.enum)}(0)`;
      } else {
        valueTag = (2 << 3) | WT.len;
        const head = [`const l2 = rv32();`, `const e2 = P + l2;`, `if (e2 > e || e2 < P) fail("truncated message");`];
        if (d.message.typeName === structTypeName) {
          m.usesStruct = true;
          read = [...head, `mv = dStruct(e2, (mv ?? {}) as JsonObject);`];
        } else {
          read = [
            ...head,
            `if (mv === undefined) {`,
            `  ms = P;`,
            `  me = e2;`,
            `  mv = ${decName(d.message)}(e2);`,
            `} else {`,
            `  mm = cat(mm ?? B.subarray(ms, me), B.subarray(P, e2));`,
            `  mv = sub(${decName(d.message)}, mm);`,
            `  P = e2;`,
            `}`,
          ];
        }
        init = "undefined";
      }
      const isMsg = d.mapKind === "message";
      L.push(`case ${tag(WT.len)}: {`, ...lenPrefix.map((x) => "  " + x), `  let mk = "";`, `  let mv: unknown = ${init};`);
      if (isMsg && d.message.typeName !== structTypeName) L.push(`  let ms = 0, me = 0;`, `  let mm: Uint8Array | undefined;`);
      L.push(
        `  while (P < e) {`,
        `    const t = rv32();`,
        `    if (t === 10) mk = rstr(e);`,
        `    else if (t === ${valueTag}) {`,
        ...read.map((x) => "      " + x),
        `    } else skip(t, e);`,
        `  }`,
        `  if (P !== e) fail("truncated map entry");`,
      );
      if (isMsg) {
        // A missing value is the value message's empty wire JSON.
        L.push(`  if (mv === undefined) mv = ${d.message.typeName === structTypeName ? "{}" : `sub(${decName(d.message)}, EMPTY)`};`);
      }
      L.push(`  // Plain assignment, like the validator's toWire (a "__proto__" key does not become a property).`, `  if (mk !== "__proto__") (${v} ??= {})[mk] = mv;`, `  else ${v} ??= {};`, `  break;`, `}`);
      break;
    }
  }
  return L;
}

/** Statements assigning a field's wire JSON key from its locals (toWire's rules). */
function finishField(m: Module, f: FieldModel, v: string): string[] {
  const key = safeProp(f.name);
  const d = f.desc;
  if (f.oneof) {
    const o = `o_${f.oneof.name}`;
    const val = d.fieldKind === "enum" ? `${m.enumTable(d.enum)}(${o}v as number)` : `${o}v`;
    return [`if (${o} === ${d.number}) w.${key} = ${val};`];
  }
  switch (f.cardinality) {
    case "list":
      return [`if (${v} !== undefined && ${v}.length > 0) w.${key} = ${v};`];
    case "map":
      return [`if (${v} !== undefined) w.${key} = ${v};`];
  }
  if (d.fieldKind === "enum") {
    return [`if (${v} !== 0) {`, `  const n = ${m.enumTable(d.enum)}(${v});`, `  if (n !== undefined) w.${key} = n;`, `}`];
  }
  if (d.fieldKind === "message") return [`if (${v} !== undefined) w.${key} = ${v};`];
  if (f.implicitPresence) return [`if (${v} !== ${zeroOf(f.value)}) w.${key} = ${v};`];
  return [`if (${v} !== undefined) w.${key} = ${v};`];
}

function emitDecoder(m: Module, desc: DescMessage): string {
  const model = messageModel(desc);
  const fields = [...model.fields].sort((a, b) => a.desc.number - b.desc.number);
  const W = m.wireType(desc);
  const L: string[] = [];
  L.push(`function ${decName(desc)}(end: number): ${W} {`, `  if (++D > MAX_DEPTH) fail("message nesting too deep");`);
  const vars = new Map<FieldModel, string>();
  for (const f of fields) {
    if (f.oneof) continue;
    const v = `f${f.desc.number}`;
    vars.set(f, v);
    const d = f.desc;
    if (f.cardinality === "list") {
      const elem = d.fieldKind === "list" && d.listKind === "message" ? (d.message.typeName === structTypeName ? "JsonObject" : m.wireType(d.message)) : d.fieldKind === "list" && d.listKind === "enum" ? "string | undefined" : tsTypeOf(f.value);
      L.push(`  let ${v}: (${elem})[] | undefined;`);
    } else if (f.cardinality === "map") {
      L.push(`  let ${v}: Record<string, unknown> | undefined;`);
    } else if (d.fieldKind === "message") {
      if (d.message.typeName === structTypeName) {
        L.push(`  let ${v}: JsonObject | undefined;`);
      } else {
        L.push(`  let ${v}: ${m.wireType(d.message)} | undefined;`, `  let ${v}s = 0, ${v}e = 0;`, `  let ${v}m: Uint8Array | undefined;`);
      }
    } else if (d.fieldKind === "enum") {
      L.push(`  let ${v} = 0;`);
    } else if (f.implicitPresence) {
      L.push(`  let ${v}: ${tsTypeOf(f.value)} = ${zeroOf(f.value)};`);
    } else {
      L.push(`  let ${v}: ${tsTypeOf(f.value)} | undefined;`);
    }
  }
  for (const o of model.oneofs) {
    const n = `o_${o.name}`;
    L.push(`  let ${n} = 0;`, `  let ${n}v: unknown;`);
    if (o.fields.some((f) => f.fieldKind === "message" && f.message.typeName !== structTypeName)) {
      L.push(`  let ${n}s = 0, ${n}e = 0;`, `  let ${n}m: Uint8Array | undefined;`);
    }
  }
  L.push(`  while (P < end) {`, `    const t = rv32();`, `    switch (t) {`);
  for (const f of fields) for (const line of decodeField(m, f, vars.get(f) ?? "")) L.push(`      ${line}`);
  L.push(`      default:`, `        skip(t, end);`, `    }`, `  }`, `  if (P !== end) fail("truncated message");`, `  D--;`);
  L.push(`  const w: Record<string, unknown> = {};`);
  for (const f of fields) for (const line of finishField(m, f, vars.get(f) ?? "")) L.push(`  ${line}`);
  L.push(`  return w as unknown as ${W};`, `}`);
  return L.join("\n");
}

// ---------------------------------------------------------------------------------------
// encoders

function encName(desc: DescMessage): string {
  return `w_${ident(desc)}`;
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** Statement writing one scalar `x` of type `t` (tag already written). */
function writeScalar(t: ScalarType, x: string): string {
  switch (t) {
    case ScalarType.STRING:
      return `wstr(${x});`;
    case ScalarType.BOOL:
      return `wbyte(${x} ? 1 : 0);`;
    case ScalarType.DOUBLE:
      return `wf64(${x});`;
    case ScalarType.FLOAT:
      return `wf32(${x});`;
    case ScalarType.INT32:
      return `wint32(${x});`;
    case ScalarType.UINT32:
      return `wv32(${x});`;
    case ScalarType.SINT32:
      return `wv32(((${x} << 1) ^ (${x} >> 31)) >>> 0);`;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return `wfx32(${x});`;
    case ScalarType.INT64:
    case ScalarType.UINT64:
      return `wv64(BigInt.asUintN(64, BigInt(${x})));`;
    case ScalarType.SINT64:
      return `wv64(BigInt.asUintN(64, (BigInt(${x}) << 1n) ^ (BigInt(${x}) >> 63n)));`;
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return `wfx64(BigInt.asUintN(64, BigInt(${x})));`;
    default:
      throw new Error(`unsupported scalar type ${ScalarType[t]}`);
  }
}

function scalarZeroTest(t: ScalarType, x: string): string {
  switch (t) {
    case ScalarType.STRING:
      return `${x} !== ""`;
    case ScalarType.BOOL:
      return `${x}`;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return `${x} != 0`;
    default:
      return `${x} !== 0`;
  }
}

function writeTag(no: number, wt: number): string {
  const bytes = varintBytes(((no << 3) | wt) >>> 0);
  return bytes.length === 1 ? `wbyte(${bytes[0]});` : `wraw(${lit(bytes)});`;
}

function encodeValue(d: DescField, x: string): string[] {
  if (d.fieldKind === "message" || (d.fieldKind === "list" && d.listKind === "message")) {
    const msg = d.message;
    if (msg.typeName === structTypeName) throw new Error(`${d.toString()}: google.protobuf.Struct is not supported in response encoders`);
    return [writeTag(d.number, WT.len), `{`, `  const at = begin();`, `  ${encName(msg)}(${x});`, `  end(at);`, `}`];
  }
  if (d.fieldKind === "enum" || (d.fieldKind === "list" && d.listKind === "enum")) return [writeTag(d.number, WT.varint), `wint32(${x});`];
  if (d.fieldKind === "scalar" || d.fieldKind === "list") return [writeTag(d.number, scalarWireType(d.scalar)), writeScalar(d.scalar, x)];
  throw new Error(`${d.toString()}: unsupported in response encoders`);
}

function emitEncoder(m: Module, desc: DescMessage): string {
  const T = m.esType(desc);
  const L: string[] = [`function ${encName(desc)}(msg: ${T}): void {`];
  const fields = [...desc.fields].sort((a, b) => a.number - b.number);
  for (const d of fields) {
    const prop = `msg.${d.localName}`;
    if (d.oneof) {
      const o = `msg.${d.oneof.localName}`;
      L.push(`  if (${o}.case === ${lit(d.localName)}) {`, ...encodeValue(d, `${o}.value`).map((x) => "    " + x), `  }`);
      continue;
    }
    switch (d.fieldKind) {
      case "map":
        throw new Error(`${d.toString()}: maps are not supported in response encoders`);
      case "list": {
        const numeric = d.listKind === "enum" || (d.listKind === "scalar" && scalarWireType(d.scalar) !== WT.len);
        if (numeric && d.packed) {
          const elem = d.listKind === "enum" ? `wint32(x);` : writeScalar(d.scalar, "x");
          L.push(`  if (${prop}.length > 0) {`, `    ${writeTag(d.number, WT.len)}`, `    const at = begin();`, `    for (const x of ${prop}) ${elem}`, `    end(at);`, `  }`);
        } else {
          L.push(`  for (const x of ${prop}) {`, ...encodeValue(d, "x").map((x) => "    " + x), `  }`);
        }
        break;
      }
      case "message":
        L.push(`  if (${prop} !== undefined) {`, ...encodeValue(d, prop).map((x) => "    " + x), `  }`);
        break;
      case "enum":
        L.push(`  if (${prop} !== ${d.presence === 2 ? "0" : "undefined"}) {`, ...encodeValue(d, prop).map((x) => "    " + x), `  }`);
        break;
      case "scalar": {
        const test = d.presence === 2 /* IMPLICIT */ ? scalarZeroTest(d.scalar, prop) : `${prop} !== undefined`;
        L.push(`  if (${test}) {`, ...encodeValue(d, prop).map((x) => "    " + x), `  }`);
        break;
      }
    }
  }
  L.push(`}`);
  return L.join("\n");
}

// ---------------------------------------------------------------------------------------
// module

/**
 * The binary codec module of `file` — its code, and the imports as tokens in it (see
 * import-tokens.ts) — or undefined when it has no ingest RPCs.
 */
export function emitBinaryModule(file: DescFile, opts: { validatorOut: string; esOut: string; handlersOut: string }): { code: string; imports: ImportTokens } | undefined {
  const ingest = ingestMethods(file);
  const methods = ingest.map((x) => x.method);
  if (methods.length === 0) return undefined;
  const m = new Module(file, opts);
  const requests = uniq(methods.map((x) => x.input));
  const responses = uniq(methods.map((x) => x.output));
  const decoded = reachable([...requests, ...responses]);
  const encoded = reachable(responses);
  const body: string[] = [];

  body.push(`// ---- decoders (protobuf binary → canonical wire JSON)`, "");
  for (const d of decoded) body.push(emitDecoder(m, d), "");
  for (const d of decoded) {
    if (d.file !== file) continue;
    const W = m.wireType(d);
    body.push(
      `/**`,
      ` * ${d.typeName} in protobuf binary (bytes offset..end of \`buf\`) → its canonical wire JSON:`,
      ` * the same object, key order included, as ${lowerFirst(localName(d))}ToWire(fromBinary(${localName(d)}Schema, bytes)).`,
      ` * Throws DecodeError on invalid data.`,
      ` */`,
      `export function decode${localName(d)}Wire(buf: Uint8Array, offset = 0, end = buf.length): ${W} {`,
      `  if (offset < 0 || end > buf.length || offset > end) throw new DecodeError("offset/end out of range", offset);`,
      `  B = buf;`,
      `  P = offset;`,
      `  D = 0;`,
      `  const r = ${decName(d)}(end);`,
      `  B = EMPTY;`,
      `  return r;`,
      `}`,
      "",
    );
  }
  body.push(`// ---- encoders (protobuf-es message → protobuf binary, the bytes toBinary writes)`, "");
  for (const d of encoded) body.push(emitEncoder(m, d), "");
  for (const d of encoded) {
    if (d.file !== file) continue;
    const T = m.esType(d);
    body.push(
      `/**`,
      ` * ${d.typeName} → protobuf binary (the bytes toBinary writes), preceded by \`reserve\``,
      ` * zero bytes (e.g. 5 for a gRPC length prefix the caller fills in). Returns a new array.`,
      ` */`,
      `export function encode${localName(d)}Binary(msg: ${T}, reserve = 0): Uint8Array {`,
      `  WP = 0;`,
      `  grow(reserve);`,
      `  W.fill(0, 0, reserve);`,
      `  WP = reserve;`,
      `  ${encName(d)}(msg);`,
      `  return W.slice(0, WP);`,
      `}`,
      "",
    );
  }

  body.push(...emitGrpcIngestTables(m, ingest));

  const enums = [...m.enums.values()].map((e) => enumTableSource(m, e));
  const header = [`// Protobuf binary codecs of the ingest RPCs' messages; see codegen/binary/README.md.`, "", `export { DecodeError };`, ""];
  const code = [enums.join("\n\n"), "", body.join("\n")].join("\n");
  const text = [header.join("\n"), usedRuntime(runtimeSource(m.usesStruct), code), code].join("\n").replace(/\n{3,}/g, "\n\n");
  // The names the runtime and templates write literally, as import tokens.
  const withImports = text
    .replace(/(?<![\w.$])DecodeError\b/g, () => m.imports.token("DecodeError", "./decode_error.js", false))
    .replace(/(?<![\w.$])(JsonObject|JsonValue)\b/g, (name: string) => m.importType("@bufbuild/protobuf", name));
  return { code: withImports.trimEnd(), imports: m.imports };
}

/**
 * Per service with ingest RPCs, `<service>GrpcIngest`: request path → decode, runtime call,
 * encode. server/transport/grpc-fast.ts serves exactly these paths, so the list of ingest
 * RPCs is the proto's (codegen/common/ingest.ts), not a hand-written one.
 */
function emitGrpcIngestTables(m: Module, ingest: readonly IngestMethod[]): string[] {
  const L: string[] = [];
  const services = [...new Set(ingest.map((x) => x.method.parent))];
  for (const service of services) {
    const runtime = `${service.name}Runtime`;
    const T = `${m.importType("./decode_error.js", "GrpcIngestRpc")}<${m.importType(`${m.opts.handlersOut}/${service.file.name.replace(/\.proto$/, "")}_handlers.js`, runtime)}>`;
    L.push(
      `// ---- gRPC ingest table`,
      "",
      `/**`,
      ` * The ingest RPCs of ${service.typeName} by gRPC request path, for a fast path that`,
      ` * answers them on the HTTP/2 stream itself (server/transport/grpc-fast.ts).`,
      ` */`,
      `export const ${lowerFirst(service.name)}GrpcIngest: ReadonlyMap<string, ${T}> = new Map<string, ${T}>([`,
    );
    for (const im of ingest.filter((x) => x.method.parent === service)) {
      const meth = im.method;
      if (meth.input.file !== m.file || meth.output.file !== m.file) throw new Error(`${service.typeName}.${meth.name}: request and response must be declared in ${m.file.name}`);
      const input = `decode${localName(meth.input)}Wire(buf, start, end).${im.field.name} ?? ${im.repeated ? "[]" : "{}"}`;
      L.push(
        `  [${lit(`/${service.typeName}/${meth.name}`)}, {`,
        `    rpc: ${lit(meth.name)},`,
        `    invoke: (runtime, buf, start, end, context, reserve) => runtime.${meth.localName}(${input}, context).then((res) => encode${localName(meth.output)}Binary(res, reserve)),`,
        `  }],`,
      );
    }
    L.push(`]);`, "");
  }
  return L;
}

function uniq(ms: DescMessage[]): DescMessage[] {
  return [...new Map(ms.map((x) => [x.typeName, x])).values()];
}

/**
 * The parts of the reader/writer `code` uses, directly or through other parts: a top-level
 * function or variable (with its doc comment) is dropped when nothing kept names it, so a
 * module compiles under noUnusedLocals whatever field types its messages have.
 */
function usedRuntime(runtime: string, code: string): string {
  type Unit = { lines: string[]; name: string | undefined };
  const units: Unit[] = [];
  let doc = false;
  for (const line of runtime.split("\n")) {
    const decl = /^(?:function|const|let) (\w+)/.exec(line);
    const cur = units[units.length - 1];
    if (cur && doc) {
      cur.lines.push(line);
      if (decl) {
        cur.name = decl[1];
        doc = false;
      }
    } else if (decl || line.startsWith("/**") || line.startsWith("//")) {
      units.push({ lines: [line], name: decl?.[1] });
      doc = line.startsWith("/**");
    } else if (cur) {
      cur.lines.push(line);
    } else {
      units.push({ lines: [line], name: undefined });
    }
  }
  const kept = new Set(units.filter((u) => u.name === undefined));
  const uses = (name: string, text: string) => new RegExp(`\\b${name}\\b`).test(text);
  let grew = true;
  while (grew) {
    grew = false;
    const text = [code, ...[...kept].map((u) => u.lines.join("\n"))].join("\n");
    for (const u of units) {
      if (kept.has(u) || u.name === undefined || !uses(u.name, text)) continue;
      kept.add(u);
      grew = true;
    }
  }
  return units
    .filter((u) => kept.has(u))
    .map((u) => u.lines.join("\n"))
    .join("\n");
}

/** The shared DecodeError module (also the type of the gRPC ingest tables), printed into `f`. */
export function printDecodeErrorModule(f: GeneratedFile, generatedBy: string): void {
  const imports = new ImportTokens();
  const HandlerContext = imports.token("HandlerContext", "@connectrpc/connect", true);
  imports.print(f, `// @generated by ${generatedBy}. DO NOT EDIT.

/** One ingest RPC in a \`<service>GrpcIngest\` table of a generated \`<file>_binary.ts\`. */
export interface GrpcIngestRpc<Runtime> {
  /** The RPC's name as declared, e.g. "TrackEvent". */
  readonly rpc: string;
  /**
   * Decodes the request message (bytes start..end of \`buf\`) to the event wire JSON, calls
   * the runtime method and encodes its response after \`reserve\` zero bytes (5 for a gRPC
   * length prefix). Throws DecodeError (possibly synchronously) on invalid data.
   */
  readonly invoke: (runtime: Runtime, buf: Uint8Array, start: number, end: number, context: ${HandlerContext}, reserve: number) => Promise<Uint8Array>;
}

/** Invalid protobuf binary data: truncated, a bad varint or wire type, invalid UTF-8, too deep. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  /** Byte offset where decoding failed. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(\`cannot decode protobuf binary: \${message} at byte \${offset}\`);
    this.offset = offset;
  }
}
`.trimEnd());
}

/** The reader/writer primitives every generated module carries (module-local state, no allocation per call). */
function runtimeSource(struct: boolean): string {
  // B[i]!: a read past the end yields undefined at run time, which every comparison
  // below treats as a bad varint and the bounds checks reject; the ! only tells tsc.
  const s = `// ---- reader (module state: one decode runs at a time, synchronously)

const EMPTY = new Uint8Array(0);
const MAX_DEPTH = 100;
let B: Uint8Array = EMPTY;
let P = 0;
let D = 0;
let LO = 0;
let HI = 0;
const F64 = new Float64Array(1);
const F64B = new Uint8Array(F64.buffer);
const F32 = new Float32Array(F64.buffer, 0, 1);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TD = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function fail(msg: string): never {
  throw new DecodeError(msg, P);
}

/** Varint → its low 32 bits, unsigned. */
function rv32(): number {
  const b = B[P++]!;
  return b < 0x80 ? b : rv32slow(b);
}

function rv32slow(b: number): number {
  let r = b & 0x7f;
  b = B[P++]!;
  r |= (b & 0x7f) << 7;
  if (b < 0x80) return r;
  b = B[P++]!;
  r |= (b & 0x7f) << 14;
  if (b < 0x80) return r;
  b = B[P++]!;
  r |= (b & 0x7f) << 21;
  if (b < 0x80) return r >>> 0;
  b = B[P++]!;
  r |= (b & 0x0f) << 28;
  if (b < 0x80) return r >>> 0;
  for (let i = 0; i < 5; i++) if (B[P++]! < 0x80) return r >>> 0;
  fail("invalid varint");
}

/** Varint → LO, HI (unsigned 32-bit halves). */
function rv64(): void {
  let lo = 0;
  let hi = 0;
  let b = 0;
  for (let s = 0; s < 28; s += 7) {
    b = B[P++]!;
    lo |= (b & 0x7f) << s;
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = 0;
      return;
    }
  }
  b = B[P++]!;
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b < 0x80) {
    LO = lo >>> 0;
    HI = hi >>> 0;
    return;
  }
  for (let s = 3; s <= 31; s += 7) {
    b = B[P++]!;
    hi |= (b & 0x7f) << s;
    if (b < 0x80) {
      LO = lo >>> 0;
      HI = hi >>> 0;
      return;
    }
  }
  fail("invalid varint");
}

/** int64 → the nearest number (what Number(bigint) gives: one rounding). */
function rint64(): number {
  rv64();
  return (HI | 0) * 4294967296 + LO;
}
function ruint64(): number {
  rv64();
  return HI * 4294967296 + LO;
}
function rsint64(): number {
  rv64();
  const s = -(LO & 1);
  const lo = ((LO >>> 1) | (HI << 31)) ^ s;
  const hi = (HI >>> 1) ^ s;
  return (hi | 0) * 4294967296 + (lo >>> 0);
}
function rzz32(): number {
  const n = rv32();
  return (n >>> 1) ^ -(n & 1);
}
function rbool(): boolean {
  const b = B[P]!;
  if (b < 0x80) {
    P++;
    return b !== 0;
  }
  rv64();
  return LO !== 0 || HI !== 0;
}
function rfx32(): number {
  const p = P;
  P = p + 4;
  return (B[p]! | (B[p + 1]! << 8) | (B[p + 2]! << 16) | (B[p + 3]! << 24)) >>> 0;
}
function rfx64(signed: boolean): number {
  const lo = rfx32();
  const hi = rfx32();
  return (signed ? hi | 0 : hi) * 4294967296 + lo;
}
function rf64(): number {
  const p = P;
  P = p + 8;
  if (P > B.length) fail("truncated double");
  if (LE) {
    F64B[0] = B[p]!;
    F64B[1] = B[p + 1]!;
    F64B[2] = B[p + 2]!;
    F64B[3] = B[p + 3]!;
    F64B[4] = B[p + 4]!;
    F64B[5] = B[p + 5]!;
    F64B[6] = B[p + 6]!;
    F64B[7] = B[p + 7]!;
  } else {
    for (let i = 0; i < 8; i++) F64B[7 - i] = B[p + i]!;
  }
  return F64[0]!;
}
function rf32(): number {
  const p = P;
  P = p + 4;
  if (P > B.length) fail("truncated float");
  if (LE) {
    F64B[0] = B[p]!;
    F64B[1] = B[p + 1]!;
    F64B[2] = B[p + 2]!;
    F64B[3] = B[p + 3]!;
  } else {
    for (let i = 0; i < 4; i++) F64B[3 - i] = B[p + i]!;
  }
  return F32[0]!;
}

/**
 * A length-delimited UTF-8 string. Measured on Node 24 (codegen/binary/decode-bench.ts):
 * ASCII up to 4 bytes is fastest concatenated, up to 24 bytes through one fromCharCode.apply,
 * longer or non-ASCII text through a fatal TextDecoder (which also rejects invalid UTF-8).
 */
function rstr(end: number): string {
  const len = rv32();
  const s = P;
  const e = s + len;
  if (e > end) fail("truncated string");
  P = e;
  if (len < 5) {
    let out = "";
    for (let i = s; i < e; i++) {
      const c = B[i]!;
      if (c >= 0x80) return utf8(s, e);
      out += String.fromCharCode(c);
    }
    return out;
  }
  if (len <= 24) {
    const codes: number[] = new Array(len);
    for (let i = 0; i < len; i++) {
      const c = B[s + i]!;
      if (c >= 0x80) return utf8(s, e);
      codes[i] = c;
    }
    return String.fromCharCode.apply(null, codes);
  }
  return utf8(s, e);
}
function utf8(s: number, e: number): string {
  try {
    return TD.decode(B.subarray(s, e));
  } catch {
    P = s;
    fail("invalid UTF-8 in a string field");
  }
}

/** Skips a field of an unknown number (or an unexpected wire type). */
function skip(tag: number, end: number): void {
  if (tag >>> 3 === 0) fail("invalid field number 0");
  switch (tag & 7) {
    case 0:
      rv64();
      break;
    case 1:
      P += 8;
      break;
    case 2: {
      const n = rv32(); // (not \`P += rv32()\`: that reads P before the call)
      P += n;
      break;
    }
    case 3:
      skipGroup(tag >>> 3, end);
      break;
    case 5:
      P += 4;
      break;
    default:
      fail("invalid wire type " + (tag & 7));
  }
  if (P > end) fail("truncated field");
}
function skipGroup(no: number, end: number): void {
  if (++D > MAX_DEPTH) fail("group nesting too deep");
  while (P < end) {
    const t = rv32();
    if ((t & 7) === 4) {
      if (t >>> 3 !== no) fail("unbalanced end group");
      D--;
      return;
    }
    skip(t, end);
  }
  fail("unterminated group");
}

/** a ++ b (for a singular message field seen twice: protobuf merges as if concatenated). */
function cat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
/** Runs a decoder over another buffer. */
function sub<T>(dec: (end: number) => T, bytes: Uint8Array): T {
  const b = B;
  const p = P;
  B = bytes;
  P = 0;
  try {
    return dec(bytes.length);
  } finally {
    B = b;
    P = p;
  }
}
`;
  const structSrc = `
// ---- google.protobuf.Struct / Value / ListValue → plain JSON (what protobuf-es makes of them)

/** Struct entries decoded into \`o\` (merging, like protobuf). */
function dStruct(end: number, o: JsonObject): JsonObject {
  if (++D > MAX_DEPTH) fail("message nesting too deep");
  while (P < end) {
    const t = rv32();
    if (t !== 10) {
      skip(t, end);
      continue;
    }
    const len = rv32();
    const e = P + len;
    if (e > end || e < P) fail("truncated map entry");
    let k = "";
    let v: JsonValue = null;
    let vk = 0;
    while (P < e) {
      const t2 = rv32();
      if (t2 === 10) k = rstr(e);
      else if (t2 === 18) {
        const l2 = rv32();
        const e2 = P + l2;
        if (e2 > e || e2 < P) fail("truncated message");
        v = dValue(e2, vk, v);
        vk = VK;
      } else skip(t2, e);
    }
    if (P !== e) fail("truncated map entry");
    if (k === "__proto__") Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
    else o[k] = v;
  }
  if (P !== end) fail("truncated message");
  D--;
  return o;
}

/** Kind of the last dValue: 0 unset, 1 null, 2 number, 3 string, 4 bool, 5 struct, 6 list. */
let VK = 0;
function dValue(end: number, k: number, v: JsonValue): JsonValue {
  if (++D > MAX_DEPTH) fail("message nesting too deep");
  while (P < end) {
    const t = rv32();
    switch (t) {
      case 8:
        rv64();
        k = 1;
        v = null;
        break;
      case 17:
        v = rf64();
        k = 2;
        break;
      case 26:
        v = rstr(end);
        k = 3;
        break;
      case 32:
        v = rbool();
        k = 4;
        break;
      case 42: {
        const len = rv32();
        const e = P + len;
        if (e > end || e < P) fail("truncated message");
        v = dStruct(e, k === 5 ? (v as JsonObject) : {});
        k = 5;
        break;
      }
      case 50: {
        const len = rv32();
        const e = P + len;
        if (e > end || e < P) fail("truncated message");
        v = dList(e, k === 6 ? (v as JsonValue[]) : []);
        k = 6;
        break;
      }
      default:
        skip(t, end);
    }
  }
  if (P !== end) fail("truncated message");
  D--;
  VK = k;
  return k === 0 ? null : v;
}

function dList(end: number, a: JsonValue[]): JsonValue[] {
  if (++D > MAX_DEPTH) fail("message nesting too deep");
  while (P < end) {
    const t = rv32();
    if (t !== 10) {
      skip(t, end);
      continue;
    }
    const len = rv32();
    const e = P + len;
    if (e > end || e < P) fail("truncated message");
    a.push(dValue(e, 0, null));
  }
  if (P !== end) fail("truncated message");
  D--;
  return a;
}
`;
  const w = `
// ---- writer (module state: a scratch buffer reused across calls; results are copied out)

let W = new Uint8Array(4096);
let WP = 0;
const TE = new TextEncoder();

function grow(n: number): void {
  if (WP + n > W.length) {
    const next = new Uint8Array(Math.max(W.length * 2, WP + n));
    next.set(W.subarray(0, WP));
    W = next;
  }
}
function wbyte(b: number): void {
  grow(1);
  W[WP++] = b;
}
function wraw(bytes: readonly number[]): void {
  grow(bytes.length);
  for (const b of bytes) W[WP++] = b;
}
function wv32(v: number): void {
  grow(5);
  while (v > 127) {
    W[WP++] = (v & 127) | 128;
    v >>>= 7;
  }
  W[WP++] = v;
}
function wint32(v: number): void {
  if (v >= 0) wv32(v);
  else wv64(BigInt.asUintN(64, BigInt(v)));
}
function wv64(v: bigint): void {
  grow(10);
  while (v > 127n) {
    W[WP++] = Number(v & 127n) | 128;
    v >>= 7n;
  }
  W[WP++] = Number(v);
}
function wfx32(v: number): void {
  grow(4);
  W[WP++] = v & 255;
  W[WP++] = (v >>> 8) & 255;
  W[WP++] = (v >>> 16) & 255;
  W[WP++] = (v >>> 24) & 255;
}
function wfx64(v: bigint): void {
  wfx32(Number(v & 0xffffffffn));
  wfx32(Number(v >> 32n));
}
function wf64(v: number): void {
  grow(8);
  F64[0] = v;
  for (let i = 0; i < 8; i++) W[WP++] = F64B[LE ? i : 7 - i]!;
}
function wf32(v: number): void {
  grow(4);
  F32[0] = v;
  for (let i = 0; i < 4; i++) W[WP++] = F64B[LE ? i : 3 - i]!;
}
function wstr(s: string): void {
  const n = s.length;
  grow(n * 3 + 5);
  if (n < 128) {
    // ASCII fast path: one length byte, one byte per char.
    const at = WP;
    let p = at + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      W[p++] = c;
    }
    if (i === n) {
      W[at] = n;
      WP = p;
      return;
    }
  }
  // General path: encode after a 5-byte gap, then close it up.
  const start = WP + 5;
  const written = TE.encodeInto(s, W.subarray(start)).written;
  wv32(written);
  W.copyWithin(WP, start, start + written);
  WP += written;
}
/** Reserves one byte for a length; end() fills it (moving the body when it needs more). */
function begin(): number {
  grow(1);
  return WP++;
}
function end(at: number): void {
  const len = WP - at - 1;
  if (len < 128) {
    W[at] = len;
    return;
  }
  let size = 1;
  for (let x = len; x > 127; x >>>= 7) size++;
  grow(size - 1);
  W.copyWithin(at + size, at + 1, WP);
  WP += size - 1;
  let p = at;
  let v = len;
  while (v > 127) {
    W[p++] = (v & 127) | 128;
    v >>>= 7;
  }
  W[p] = v;
}
`;
  return s + (struct ? structSrc : "") + w;
}
