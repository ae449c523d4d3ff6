/**
 * `tracking configs list|get|apply|diff`: tracking configs as files against a running server
 * (the admin REST API; routes from the generated table). Files hold configs in the seed's JSON
 * shape — one object, an array, or NDJSON as `configs export` writes — so they live in Git.
 *
 * `apply` is idempotent: it reads each config, shows the diff, and writes only the fields that
 * differ, with `If-Match: "<version it read>"`, so a concurrent change is refused (409), never
 * overwritten. Exit codes: 0 done (or nothing to change), 1 the server refused (409, 4xx) or
 * `diff` found differences, 2 usage error, unreadable file, unreachable server.
 */
import { type Command, Option } from "commander";
import { createTwoFilesPatch } from "diff";
import {
  trackingConfigFromWire,
  trackingConfigToWire,
} from "../../gen/validator/recommender/v1/tracking_config_validator.js";
import type { TrackingConfigWire } from "../../gen/validator/recommender/v1/tracking_config_wire.js";
import { parseConfigLines } from "../store/ndjson.js";
import {
  answerError,
  CliError,
  configRoute,
  paint,
  readInput,
  type ServerFlags,
  serverOptions,
  serverRequest,
} from "./common.js";

// Written by the store on every write, never by a file: left out of comparisons and updates.
const STORE_MANAGED = new Set(["version", "created_at", "updated_at"]);
// The path of a config: which one it is, not something an update changes.
const IDENTITY = new Set(["tenant_id", "scenario_id"]);

type Wire = Record<string, unknown>;

/** Configs of a file (object, array or NDJSON), checked by the generated validator, in canonical wire form. */
export function readConfigFile(file: string): Wire[] {
  const text = readInput(file).trim();
  let raw: string[] = text.split("\n");
  if (text.startsWith("[") || (text.startsWith("{") && text.includes("\n"))) {
    try {
      const doc: unknown = JSON.parse(text);
      raw = (Array.isArray(doc) ? doc : [doc]).map((c) => JSON.stringify(c));
    } catch {
      // NDJSON: parseConfigLines reports its bad lines
    }
  }
  // A config written without is_active means an active one (what create makes of it), not a deletion.
  const lines = raw
    .map((line) => {
      try {
        const c: unknown = JSON.parse(line);
        if (typeof c === "object" && c !== null && !Array.isArray(c) && !("is_active" in c)) {
          return JSON.stringify({ ...c, is_active: true });
        }
      } catch {
        // reported by parseConfigLines with its line number
      }
      return line;
    })
    .join("\n");
  try {
    return parseConfigLines(lines).map((c): Wire => ({ ...trackingConfigToWire(c, true) }));
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message.replace(/^nothing imported:\n/, "").replace(/\n/g, "; ")}`, 1);
  }
}

/** The content of a config without the store-managed fields, keys in a stable order. */
function content(c: Wire): Wire {
  const canonical: Wire = { ...trackingConfigToWire(trackingConfigFromWire(c), true) };
  return Object.fromEntries(Object.entries(canonical).filter(([k]) => !STORE_MANAGED.has(k)));
}

function pretty(c: Wire | undefined): string {
  return c === undefined ? "" : `${JSON.stringify(c, null, 2)}\n`;
}

/** A unified diff of `current` → `wanted`, coloured on a TTY; empty when equal. */
function configDiff(name: string, current: Wire | undefined, wanted: Wire): string {
  const a = pretty(current === undefined ? undefined : content(current));
  const b = pretty(content(wanted));
  if (a === b) return "";
  const patch = createTwoFilesPatch(
    current === undefined ? "/dev/null" : `server/${name}`,
    `file/${name}`,
    a,
    b,
    "",
    "",
    {
      context: 3,
    },
  );
  return patch
    .split("\n")
    .filter((l) => !l.startsWith("===="))
    .map((l) =>
      l.startsWith("+") && !l.startsWith("+++")
        ? paint("green", l)
        : l.startsWith("-") && !l.startsWith("---")
          ? paint("red", l)
          : l.startsWith("@@")
            ? paint("cyan", l)
            : l,
    )
    .join("\n");
}

/** GET one config: its wire JSON and version, or undefined when the server has none. */
async function fetchConfig(o: ServerFlags, tenant: string, scenario: string): Promise<Wire | undefined> {
  const a = await serverRequest(
    o,
    "GET",
    configRoute("GetTrackingConfig", { tenant_id: tenant, scenario_id: scenario }),
  );
  if (a.status === 404) return undefined;
  if (a.status !== 200) throw answerError(`get ${tenant}/${scenario}`, a);
  return a.body as Wire;
}

interface ApplyFlags extends ServerFlags {
  dryRun: boolean;
  json: boolean;
}

/** Adds list, get, apply and diff to the `configs` command group. */
export function addRemoteConfigCommands(configs: Command): void {
  const withServer = (cmd: Command) => {
    for (const o of serverOptions(true)) cmd.addOption(o);
    return cmd;
  };

  withServer(
    configs
      .command("list")
      .description("list the server's configs (tenant, scenario, type, version, active, name)")
      .option("--tenant <id>", "only this tenant's configs")
      .option("--scenario-type <type>", "only configs of this scenario type")
      .addOption(new Option("--all", "include inactive (deleted) configs").default(false))
      .addOption(new Option("--json", "print the server's JSON answer").default(false))
      .addHelpText("after", "\nExit codes: 0 listed, 1 the server refused, 2 usage error or unreachable server."),
  ).action(async (o: ServerFlags & { tenant?: string; scenarioType?: string; all: boolean; json: boolean }) => {
    const q = new URLSearchParams();
    if (o.tenant) q.set("tenant_id", o.tenant);
    if (o.scenarioType) q.set("scenario_type", o.scenarioType);
    if (o.all) q.set("include_inactive", "true");
    const a = await serverRequest(o, "GET", `${configRoute("ListTrackingConfigs")}?${q}`);
    if (a.status !== 200) throw answerError("list", a);
    if (o.json) {
      process.stdout.write(`${JSON.stringify(a.body)}\n`);
      return;
    }
    const configs = ((a.body as { configs?: TrackingConfigWire[] }).configs ?? []) as TrackingConfigWire[];
    const rows = [
      ["TENANT", "SCENARIO", "TYPE", "VERSION", "ACTIVE", "NAME"],
      ...configs.map((c) => [
        c.tenant_id,
        c.scenario_id,
        c.scenario_type,
        String(c.version ?? ""),
        c.is_active ? "yes" : "no",
        c.name ?? "",
      ]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const [n, r] of rows.entries()) {
      const line = r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd();
      process.stdout.write(`${n === 0 ? paint("bold", line) : line}\n`);
    }
  });

  withServer(
    configs
      .command("get")
      .description("print one config as JSON, ready to edit and apply")
      .argument("<tenant>", "tenant id")
      .argument("<scenario>", "scenario id")
      .option("-o, --output <file>", "write it to a file instead of stdout")
      .addHelpText(
        "after",
        "\nExit codes: 0 found, 1 no such config or the server refused, 2 usage error or unreachable server.",
      ),
  ).action(async (tenant: string, scenario: string, o: ServerFlags & { output?: string }) => {
    const c = await fetchConfig(o, tenant, scenario);
    if (c === undefined) throw new CliError(`no tracking config ${tenant}/${scenario} on ${o.server}`, 1);
    const { writeFileSync } = await import("node:fs");
    if (o.output !== undefined) writeFileSync(o.output, pretty(c));
    else process.stdout.write(pretty(c));
  });

  withServer(
    configs
      .command("diff")
      .description("show how the configs in a file differ from the server's")
      .argument("<file>", "configs: a JSON object, an array, or NDJSON (as export writes); - reads stdin")
      .addHelpText(
        "after",
        "\nExit codes: 0 no differences, 1 differences (like diff(1)), 2 usage error, bad file or unreachable server.",
      ),
  ).action(async (file: string, o: ServerFlags) => {
    let differ = 0;
    for (const wanted of readConfigFile(file)) {
      const name = `${wanted.tenant_id}/${wanted.scenario_id}`;
      const d = configDiff(name, await fetchConfig(o, String(wanted.tenant_id), String(wanted.scenario_id)), wanted);
      if (d !== "") {
        differ++;
        process.stdout.write(`${d}\n`);
      }
    }
    if (differ > 0) process.exitCode = 1;
  });

  withServer(
    configs
      .command("apply")
      .description("create or update the server's configs to match a file (idempotent; shows the diff first)")
      .argument("<file>", "configs: a JSON object, an array, or NDJSON (as export writes); - reads stdin")
      .addOption(new Option("--dry-run", "show what would change, change nothing").default(false))
      .addOption(new Option("--json", "one JSON outcome per config on stdout").default(false))
      .addHelpText(
        "after",
        `
Each config is read first; only the fields that differ are written, with If-Match set to the
version read, so a change made meanwhile by someone else is refused (409), not overwritten.
Exit codes: 0 applied or nothing to change, 1 the server refused a config (409 conflict, invalid),
2 usage error, bad file or unreachable server.`,
      ),
  ).action(async (file: string, o: ApplyFlags) => {
    const wantedAll = readConfigFile(file);
    const counts = { created: 0, updated: 0, unchanged: 0 };
    const log = (line: string) => (o.json ? process.stderr : process.stdout).write(`${line}\n`);
    for (const wanted of wantedAll) {
      const tenant = String(wanted.tenant_id);
      const scenario = String(wanted.scenario_id);
      const name = `${tenant}/${scenario}`;
      const current = await fetchConfig(o, tenant, scenario);
      const d = configDiff(name, current, wanted);
      let outcome: "created" | "updated" | "unchanged";
      let version = current?.version;
      if (d === "") outcome = "unchanged";
      else {
        log(d);
        outcome = current === undefined ? "created" : "updated";
        if (!o.dryRun) {
          if (current === undefined) {
            const a = await serverRequest(o, "POST", configRoute("CreateTrackingConfig"), { body: content(wanted) });
            if (a.status !== 200) throw answerError(`create ${name}`, a);
            version = (a.body as { config?: Wire }).config?.version;
          } else {
            const was = content(current);
            const now = content(wanted);
            const changed = Object.fromEntries(
              Object.entries(now).filter(([k, v]) => !IDENTITY.has(k) && JSON.stringify(v) !== JSON.stringify(was[k])),
            );
            const a = await serverRequest(
              o,
              "PUT",
              configRoute("UpdateTrackingConfig", { tenant_id: tenant, scenario_id: scenario }),
              {
                body: changed,
                headers: { "if-match": `"${current.version}"` },
              },
            );
            if (a.status === 409) {
              throw new CliError(
                `${name} changed on the server since it was read (version ${current.version}); run apply again to see the new diff`,
                1,
              );
            }
            if (a.status !== 200) throw answerError(`update ${name}`, a);
            version = (a.body as { config?: Wire }).config?.version;
          }
        }
      }
      counts[outcome]++;
      const verb = o.dryRun && outcome !== "unchanged" ? `would be ${outcome}` : outcome;
      if (o.json) process.stdout.write(`${JSON.stringify({ config: name, outcome, dry_run: o.dryRun, version })}\n`);
      else log(`${name}: ${verb}${version !== undefined && !o.dryRun ? ` (version ${version})` : ""}`);
    }
    process.stderr.write(
      `${o.dryRun ? "dry run: " : ""}${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged\n`,
    );
  });
}
