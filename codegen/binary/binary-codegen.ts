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
import { ImportTokens } from "../common/import-tokens.js";
import { ingestMethods } from "../common/ingest.js";
import { enumModel, type FieldModel, messageModel, type WireKind } from "../common/model.js";
import { localName, lowerFirst } from "../common/names.js";
import { type RuntimeFile, runtimeFile } from "../common/runtime-file.js";
import { wireTypeName } from "../common/wire-schema.js";

const structTypeName = "google.protobuf.Struct";
const lit = (v: unknown) => JSON.stringify(v);

/** The generated module's name for a proto file, e.g. recommender/v1/behavior_binary.ts. */
export function binaryFileName(file: DescFile): string {
  return `${file.name.replace(/\.proto$/, "")}_binary.ts`;
}

/**
 * The exported decoder of message `desc` in its `<file>_binary.ts`, e.g. decodeTrackEventRequestWire;
 * the handlers plugin's gRPC ingest table calls it by this name.
 */
export function decodeWireName(desc: DescMessage): string {
  return `decode${localName(desc)}Wire`;
}

/** The exported encoder of message `desc` in its `<file>_binary.ts`, e.g. encodeTrackEventResponseBinary. */
export function encodeBinaryName(desc: DescMessage): string {
  return `encode${localName(desc)}Binary`;
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
      if (
        f.fieldKind === "message" ||
        (f.fieldKind === "list" && f.listKind === "message") ||
        (f.fieldKind === "map" && f.mapKind === "message")
      )
        visit(f.message);
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
  readonly imports = new ImportTokens();

  constructor(
    readonly file: DescFile,
    readonly opts: { validatorOut: string; esOut: string },
  ) {}

  /** The text standing for type `name` from `from` (a package, or a path relative to the out dir). */
  importType(from: string, name: string): string {
    return this.imports.token(name, from, true);
  }

  /** Wire JSON type of a message (from the validator plugin's `<file>_wire.ts`). */
  wireType(desc: DescMessage): string {
    if (desc.file !== this.file) return "Record<string, unknown>";
    return this.importType(
      `${this.opts.validatorOut}/${desc.file.name.replace(/\.proto$/, "")}_wire.js`,
      wireTypeName(desc),
    );
  }

  /** protobuf-es type of a message. */
  esType(desc: DescMessage): string {
    const from = desc.file.name.startsWith("google/protobuf/")
      ? "@bufbuild/protobuf/wkt"
      : `${this.opts.esOut}/${desc.file.name.replace(/\.proto$/, "")}_pb.js`;
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
      L.push(
        `case ${tag(scalarWireType(d.scalar))}:`,
        `  ${o}v = ${readScalar(d.scalar)};`,
        `  ${o} = ${no};`,
        `  break;`,
      );
    } else if (d.fieldKind === "enum") {
      L.push(`case ${tag(WT.varint)}:`, `  ${o}v = rv32() | 0;`, `  ${o} = ${no};`, `  break;`);
    } else if (d.fieldKind === "message") {
      L.push(`case ${tag(WT.len)}: {`, ...lenPrefix.map((x) => "  " + x));
      if (d.message.typeName === structTypeName) {
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
      L.push(`  ${o} = ${no};`, `  seek(e);`, `  break;`, `}`);
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
      L.push(`  seek(e);`, `  break;`, `}`);
      break;
    case "list": {
      if (d.listKind === "message") {
        L.push(`case ${tag(WT.len)}: {`, ...lenPrefix.map((x) => "  " + x));
        if (d.message.typeName === structTypeName) {
          L.push(`  (${v} ??= []).push(dStruct(e, {}));`);
        } else {
          L.push(`  (${v} ??= []).push(${decName(d.message)}(e));`);
        }
        L.push(`  seek(e);`, `  break;`, `}`);
        break;
      }
      const scalar = d.listKind === "enum" ? ScalarType.INT32 : d.scalar;
      const conv = (x: string) => (d.listKind === "enum" ? `${m.enumTable(d.enum)}(${x})` : x);
      const read = conv(d.listKind === "enum" ? "rv32() | 0" : readScalar(scalar));
      const wt = scalarWireType(scalar);
      if (wt !== WT.len) {
        L.push(
          `case ${tag(WT.len)}: {`,
          ...lenPrefix.map((x) => "  " + x),
          `  const a = (${v} ??= []);`,
          `  while (P < e) a.push(${read});`,
          `  if (P !== e) fail("truncated packed field");`,
          `  break;`,
          `}`,
        );
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
            `  seek(e2);`,
            `}`,
          ];
        }
        init = "undefined";
      }
      const isMsg = d.mapKind === "message";
      L.push(
        `case ${tag(WT.len)}: {`,
        ...lenPrefix.map((x) => "  " + x),
        `  let mk = "";`,
        `  let mv: unknown = ${init};`,
      );
      if (isMsg && d.message.typeName !== structTypeName)
        L.push(`  let ms = 0, me = 0;`, `  let mm: Uint8Array | undefined;`);
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
        L.push(
          `  if (mv === undefined) mv = ${d.message.typeName === structTypeName ? "{}" : `sub(${decName(d.message)}, EMPTY)`};`,
        );
      }
      L.push(
        `  // Plain assignment, like the validator's toWire (a "__proto__" key does not become a property).`,
        `  if (mk !== "__proto__") (${v} ??= {})[mk] = mv;`,
        `  else ${v} ??= {};`,
        `  break;`,
        `}`,
      );
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
    return [
      `if (${v} !== 0) {`,
      `  const n = ${m.enumTable(d.enum)}(${v});`,
      `  if (n !== undefined) w.${key} = n;`,
      `}`,
    ];
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
  L.push(`function ${decName(desc)}(end: number): ${W} {`, `  enter();`);
  const vars = new Map<FieldModel, string>();
  for (const f of fields) {
    if (f.oneof) continue;
    const v = `f${f.desc.number}`;
    vars.set(f, v);
    const d = f.desc;
    if (f.cardinality === "list") {
      const elem =
        d.fieldKind === "list" && d.listKind === "message"
          ? d.message.typeName === structTypeName
            ? "JsonObject"
            : m.wireType(d.message)
          : d.fieldKind === "list" && d.listKind === "enum"
            ? "string | undefined"
            : tsTypeOf(f.value);
      L.push(`  let ${v}: (${elem})[] | undefined;`);
    } else if (f.cardinality === "map") {
      L.push(`  let ${v}: Record<string, unknown> | undefined;`);
    } else if (d.fieldKind === "message") {
      if (d.message.typeName === structTypeName) {
        L.push(`  let ${v}: JsonObject | undefined;`);
      } else {
        L.push(
          `  let ${v}: ${m.wireType(d.message)} | undefined;`,
          `  let ${v}s = 0, ${v}e = 0;`,
          `  let ${v}m: Uint8Array | undefined;`,
        );
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
  L.push(
    `      default:`,
    `        skip(t, end);`,
    `    }`,
    `  }`,
    `  if (P !== end) fail("truncated message");`,
    `  leave();`,
  );
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
    if (msg.typeName === structTypeName)
      throw new Error(`${d.toString()}: google.protobuf.Struct is not supported in response encoders`);
    return [
      writeTag(d.number, WT.len),
      `{`,
      `  const at = beginLen();`,
      `  ${encName(msg)}(${x});`,
      `  endLen(at);`,
      `}`,
    ];
  }
  if (d.fieldKind === "enum" || (d.fieldKind === "list" && d.listKind === "enum"))
    return [writeTag(d.number, WT.varint), `wint32(${x});`];
  if (d.fieldKind === "scalar" || d.fieldKind === "list")
    return [writeTag(d.number, scalarWireType(d.scalar)), writeScalar(d.scalar, x)];
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
      L.push(
        `  if (${o}.case === ${lit(d.localName)}) {`,
        ...encodeValue(d, `${o}.value`).map((x) => "    " + x),
        `  }`,
      );
      continue;
    }
    switch (d.fieldKind) {
      case "map":
        throw new Error(`${d.toString()}: maps are not supported in response encoders`);
      case "list": {
        const numeric = d.listKind === "enum" || (d.listKind === "scalar" && scalarWireType(d.scalar) !== WT.len);
        if (numeric && d.packed) {
          const elem = d.listKind === "enum" ? `wint32(x);` : writeScalar(d.scalar, "x");
          L.push(
            `  if (${prop}.length > 0) {`,
            `    ${writeTag(d.number, WT.len)}`,
            `    const at = beginLen();`,
            `    for (const x of ${prop}) ${elem}`,
            `    endLen(at);`,
            `  }`,
          );
        } else {
          L.push(`  for (const x of ${prop}) {`, ...encodeValue(d, "x").map((x) => "    " + x), `  }`);
        }
        break;
      }
      case "message":
        L.push(`  if (${prop} !== undefined) {`, ...encodeValue(d, prop).map((x) => "    " + x), `  }`);
        break;
      case "enum":
        L.push(
          `  if (${prop} !== ${d.presence === 2 ? "0" : "undefined"}) {`,
          ...encodeValue(d, prop).map((x) => "    " + x),
          `  }`,
        );
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
export function emitBinaryModule(
  file: DescFile,
  opts: { validatorOut: string; esOut: string },
): { code: string; imports: ImportTokens } | undefined {
  const methods = ingestMethods(file).map((x) => x.method);
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
      `export function ${decodeWireName(d)}(buf: Uint8Array, offset = 0, end = buf.length): ${W} {`,
      `  if (offset < 0 || end > buf.length || offset > end) throw new DecodeError("offset/end out of range", offset);`,
      `  beginRead(buf, offset);`,
      `  const r = ${decName(d)}(end);`,
      `  endRead();`,
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
      `export function ${encodeBinaryName(d)}(msg: ${T}, reserve = 0): Uint8Array {`,
      `  beginWrite(reserve);`,
      `  ${encName(d)}(msg);`,
      `  return endWrite();`,
      `}`,
      "",
    );
  }

  const enums = [...m.enums.values()].map((e) => enumTableSource(m, e));
  const header = [
    `// Protobuf binary codecs of the ingest RPCs' messages; see codegen/binary/README.md.`,
    "",
    `export { DecodeError };`,
    "",
  ];
  const text = [header.join("\n"), enums.join("\n\n"), "", body.join("\n")].join("\n").replace(/\n{3,}/g, "\n\n");
  // The names the templates write literally (reader/writer calls and state), as import tokens.
  const withImports = replaceInCode(text, /(?<![\w.$])[A-Za-z_$][\w$]*(?![\w$])/g, (name) => {
    if (name === "DecodeError") return m.imports.token(name, "./decode_error.js", false);
    if (name === "JsonObject" || name === "JsonValue") return m.importType("@bufbuild/protobuf", name);
    return wireIoExports.has(name) ? m.imports.token(name, "./wire_io.js", false) : name;
  });
  return { code: withImports.trimEnd(), imports: m.imports };
}

/** The files emitted verbatim into the out dir, next to the generated modules. */
export const runtimeFiles: readonly RuntimeFile[] = ["decode_error.ts", "wire_io.ts"].map((name) =>
  runtimeFile(new URL(`./runtime/${name}`, import.meta.url), name),
);

/** What wire_io.ts exports: the names generated code may call or read. */
const wireIoExports = new Set(
  [
    ...(runtimeFiles.find((f) => f.name === "wire_io.ts")?.source ?? "").matchAll(
      /^export (?:function|let|const) (\w+)/gm,
    ),
  ].map((x) => x[1] ?? ""),
);

/** Applies `replace` to the code of `text` only: string literals and comments stay as written. */
function replaceInCode(text: string, re: RegExp, replace: (match: string) => string): string {
  let out = "";
  let code = "";
  const flush = () => {
    out += code.replace(re, replace);
    code = "";
  };
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    const two = text.slice(i, i + 2);
    let end = -1;
    if (c === '"' || c === "'" || c === "`") {
      end = i + 1;
      while (end < text.length && text[end] !== c) end += text[end] === "\\" ? 2 : 1;
      end++;
    } else if (two === "//") {
      end = text.indexOf("\n", i);
      if (end < 0) end = text.length;
    } else if (two === "/*") {
      end = text.indexOf("*/", i + 2) + 2;
    }
    if (end > i) {
      flush();
      out += text.slice(i, end);
      i = end;
    } else {
      code += c;
      i++;
    }
  }
  flush();
  return out;
}

function uniq(ms: DescMessage[]): DescMessage[] {
  return [...new Map(ms.map((x) => [x.typeName, x])).values()];
}
