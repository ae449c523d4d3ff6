/**
 * The version every plugin of ours reports (protoplugin writes it into each generated
 * file's preamble): the project's package.json version, so a release bumps it in one place.
 */
import { readFileSync } from "node:fs";

const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
if (typeof pkg !== "object" || pkg === null || !("version" in pkg) || typeof pkg.version !== "string") {
  throw new Error("package.json has no version");
}

/** `v<package.json version>`, e.g. "v0.1.0". */
export const pluginVersion = `v${pkg.version}`;
