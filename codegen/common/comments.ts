/** Proto comments as plain text, for generated docs, templates and schemas. */
import type { AnyDesc, DescFile } from "@bufbuild/protobuf";
import { getComments, getSyntaxComments } from "@bufbuild/protoplugin";

function clean(text: string | undefined): string {
  if (text === undefined) return "";
  return text
    .split("\n")
    .map((line) => line.trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** The leading comment of a declaration, each line trimmed; "" when there is none. */
export function leadingComment(desc: Exclude<AnyDesc, DescFile>): string {
  return clean(getComments(desc).leading);
}

/** The comment above a file's `syntax` statement (the file's own description). */
export function fileComment(file: DescFile): string {
  return clean(getSyntaxComments(file).leading) || clean(getSyntaxComments(file).leadingDetached.join("\n\n"));
}

/** The first sentence (or line) of a comment, for one-line summaries. */
export function firstSentence(text: string): string {
  const line = (text.split("\n\n")[0] ?? "").replace(/\n/g, " ").trim();
  const m = /^(.+?[.。!?！？])(\s|$)/.exec(line);
  return (m?.[1] ?? line).trim();
}
