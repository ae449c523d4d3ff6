import { describe, expect, it } from "vitest";
import { parsePathTemplate, pathVariables } from "./http-rule.js";

describe("parsePathTemplate", () => {
  it("parses literals, variables with and without a pattern, and a verb", () => {
    const t = parsePathTemplate("/v1/{parent=shelves/*}/books/{book.id}:rename", "T");
    expect(t.verb).toBe("rename");
    expect(t.segments).toEqual([
      { kind: "literal", value: "v1" },
      {
        kind: "variable",
        fieldPath: "parent",
        segments: [
          { kind: "literal", value: "shelves" },
          { kind: "wildcard", deep: false },
        ],
      },
      { kind: "literal", value: "books" },
      { kind: "variable", fieldPath: "book.id", segments: [{ kind: "wildcard", deep: false }] },
    ]);
    expect(pathVariables(t)).toEqual(["parent", "book.id"]);
  });

  it("keeps a trailing slash as an empty last segment only where declared", () => {
    expect(parsePathTemplate("/a/", "T").segments).toEqual([
      { kind: "literal", value: "a" },
      { kind: "literal", value: "" },
    ]);
  });

  it.each([
    ["a/b", "must start with /"],
    ["/a/{b", "unbalanced"],
    ["/a/{b={c}}", "nested braces"],
    ["/a/{1b}", "bad field path"],
    ["/a/b c", "bad segment"],
    ["/a//b", "empty segment"],
  ])("rejects %s", (template, why) => {
    expect(() => parsePathTemplate(template, "Svc.Rpc")).toThrow(why);
  });
});
