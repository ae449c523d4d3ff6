/**
 * Names our plugins derive from descriptors, one definition each: the generated code of one
 * plugin calls what another generated (e.g. `decode<Local>Wire`, `<lowerFirst(Service)>GrpcIngest`),
 * so they must agree.
 */
import type { DescEnum, DescMessage } from "@bufbuild/protobuf";

/** protobuf-es local name of a message or enum: the name within its package, nested names joined by "_". */
export function localName(desc: DescMessage | DescEnum): string {
  const pkg = desc.file.proto.package;
  return desc.typeName.slice(pkg ? pkg.length + 1 : 0).replace(/\./g, "_");
}

/** `s` with its first character lower-cased ("BehaviorService" → "behaviorService"). */
export function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
