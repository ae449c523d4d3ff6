/**
 * Lets emitters that build a module's code as text (the validator and binary plugins) print
 * it through protoplugin's GeneratedFile: every imported name is written into the text as a
 * token, and `print` turns the tokens back into `f.import(…)` symbols. protoplugin then writes
 * the import statements as it does for protoc-gen-es — only for names actually printed,
 * aliased on conflicts (`Violation$1`), with import_extension / rewrite_imports applied.
 */
import type { GeneratedFile, Printable } from "@bufbuild/protoplugin";

interface Symbol {
  name: string;
  /** A package, or a path relative to the plugin's out dir ("./violation.js", "../es/x_pb.js"). */
  from: string;
  typeOnly: boolean;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the tokens are delimited by U+0001/U+0002 precisely because no source text the emitters print contains them
const tokenPattern = /\u0001(\d+)\u0002/;

/** The imports of one generated file, as tokens in its text. */
export class ImportTokens {
  private readonly symbols: Symbol[] = [];
  private readonly byKey = new Map<string, string>();

  /** A token standing for `name` imported from `from` (a package, or a path relative to the out dir). */
  token(name: string, from: string, typeOnly: boolean): string {
    const key = `${typeOnly ? "t" : "v"}|${from}|${name}`;
    let t = this.byKey.get(key);
    if (t === undefined) {
      t = `\u0001${this.symbols.length}\u0002`;
      this.symbols.push({ name, from, typeOnly });
      this.byKey.set(key, t);
    }
    return t;
  }

  /** Prints `text` into `f` with its tokens as import symbols. */
  print(f: GeneratedFile, text: string): void {
    const parts = text.split(new RegExp(tokenPattern, "g"));
    const printables: Printable[] = parts.map((p, i) => {
      if (i % 2 === 0) return p;
      const s = this.symbols[Number(p)];
      if (s === undefined) throw new Error(`unknown import token ${p}`);
      return f.import(s.name, s.from, s.typeOnly);
    });
    f.print(...printables);
  }
}
