// Runs json-schema-to-typescript (async) for wire-types.ts, which protoc plugins call
// synchronously: reads [{ name, schema }] as JSON on stdin, writes [ts source] on stdout.
import { compile } from "json-schema-to-typescript";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const jobs = JSON.parse(input);
const out = [];
for (const { name, schema, bannerComment } of jobs) {
  out.push(
    await compile(schema, name, {
      bannerComment: bannerComment ?? "",
      additionalProperties: false,
      unreachableDefinitions: true,
      strictIndexSignatures: false,
      format: true,
      cwd: process.cwd(),
      $refOptions: { resolve: { file: false, http: false } },
    }),
  );
}
process.stdout.write(JSON.stringify(out));
