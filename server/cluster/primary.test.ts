import { describe, expect, it } from "vitest";
import { restartDelayMs } from "./primary.js";

describe("restartDelayMs", () => {
  it("replaces a worker at once after its first crash, then backs off by doubling up to 30 s", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 20].map(restartDelayMs)).toEqual([
      0, 250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });
});
