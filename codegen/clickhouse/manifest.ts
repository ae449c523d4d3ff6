/**
 * The column manifest (`<table>.columns.json` in the plugin's out dir) is the table's history:
 * every column it ever had, in table order, with the migration that added it. The next
 * generation reads the committed manifest (plugin option `previous_dir`), keeps its order and
 * `since` numbers, and gives columns that are new in the proto the next version, placed after
 * the column that precedes them in the proto. Every migration is then derived from the manifest
 * alone, so migrations already applied somewhere never change and a fresh CREATE and a migrated
 * table have the same columns in the same order.
 *
 * Only additive changes migrate by themselves (what `buf breaking` accepts: a new field, a new
 * scenario). A column that left the proto stays (`retired`: the view stops filling it, its data
 * stays); a column whose type changed is an error, since ClickHouse would have to rewrite it.
 */
import type { Column } from "./columns.js";

/** One column of the manifest. */
export interface ManifestColumn {
  name: string;
  type: string;
  /** The manifest version (migration number) that added it; 1 = the first CREATE. */
  since: number;
  /** Set when the proto no longer has the field: the column stays, nothing fills it. */
  retired?: true;
}

/** The manifest of one table. */
export interface Manifest {
  table: string;
  /** Highest `since`: the migration a table created from this manifest is at. */
  version: number;
  columns: ManifestColumn[];
}

/** Parses a manifest file's text, checking its shape. */
export function parseManifest(text: string, where: string): Manifest {
  const v: unknown = JSON.parse(text);
  const bad = (why: string) => new Error(`${where}: not a column manifest (${why})`);
  if (typeof v !== "object" || v === null) throw bad("not an object");
  const o = v as Record<string, unknown>;
  if (typeof o.table !== "string") throw bad("table");
  if (typeof o.version !== "number" || !Number.isInteger(o.version) || o.version < 1) throw bad("version");
  if (!Array.isArray(o.columns)) throw bad("columns");
  const columns = o.columns.map((c: unknown, i): ManifestColumn => {
    const x = c as Record<string, unknown>;
    if (typeof x?.name !== "string" || typeof x.type !== "string" || typeof x.since !== "number")
      throw bad(`columns[${i}]`);
    return { name: x.name, type: x.type, since: x.since, ...(x.retired === true ? { retired: true as const } : {}) };
  });
  return { table: o.table, version: o.version, columns };
}

/** The manifest text as written (stable key order, one column per line). */
export function formatManifest(m: Manifest): string {
  const cols = m.columns.map((c) => `    ${JSON.stringify(c)}`).join(",\n");
  return `{\n  "table": ${JSON.stringify(m.table)},\n  "version": ${m.version},\n  "columns": [\n${cols}\n  ]\n}`;
}

/**
 * The manifest of the current columns given the previous one (undefined: a first generation,
 * everything at version 1). Throws on a changed column type.
 */
export function nextManifest(table: string, current: Column[], previous: Manifest | undefined): Manifest {
  if (!previous) return { table, version: 1, columns: current.map((c) => ({ name: c.name, type: c.type, since: 1 })) };
  if (previous.table !== table) throw new Error(`previous manifest is of table ${previous.table}, not ${table}`);
  const byName = new Map(current.map((c) => [c.name, c]));
  const columns: ManifestColumn[] = previous.columns.map((p) => {
    const c = byName.get(p.name);
    if (!c) return { name: p.name, type: p.type, since: p.since, retired: true };
    if (c.type !== p.type) {
      throw new Error(
        `${table}.${p.name}: type changed from ${p.type} to ${c.type}; only added fields migrate by themselves ` +
          "(write an ALTER TABLE … MODIFY COLUMN by hand and update the manifest's type)",
      );
    }
    return { name: p.name, type: p.type, since: p.since };
  });
  const known = new Set(previous.columns.map((p) => p.name));
  const added = current.filter((c) => !known.has(c.name));
  const version = previous.version + (added.length > 0 ? 1 : 0);
  for (const c of added) {
    // After the nearest column that precedes it in the proto and is already placed.
    const order = current.map((x) => x.name);
    let at = 0;
    for (let i = order.indexOf(c.name) - 1; i >= 0; i--) {
      const j = columns.findIndex((x) => x.name === order[i]);
      if (j >= 0) {
        at = j + 1;
        break;
      }
    }
    columns.splice(at, 0, { name: c.name, type: c.type, since: version });
  }
  return { table, version, columns };
}

/** One ADD COLUMN of a migration: the column and the one it goes after (undefined: FIRST). */
export interface AddedColumn {
  column: ManifestColumn;
  after: string | undefined;
}

/** The columns migration `version` adds, each after the nearest earlier column that exists by then. */
export function migrationColumns(m: Manifest, version: number): AddedColumn[] {
  const out: AddedColumn[] = [];
  let previous: string | undefined;
  for (const c of m.columns) {
    if (c.since > version) continue;
    if (c.since === version) out.push({ column: c, after: previous });
    previous = c.name;
  }
  return out;
}
