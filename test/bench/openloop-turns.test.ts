// The slot schedule the quota bench's generators share (bench/lib/common.ts turnAt): every
// period holds each condition once and the order rotates by one each period, so over as many
// periods as conditions each condition sits at every position of the period once. (Rotation
// moves a condition's phase, not its predecessor: each slot's first 250 ms are not counted.)
import { describe, expect, it } from "vitest";
import { turnAt } from "../../bench/lib/common.js";

describe("turnAt", () => {
  const t = { slotMs: 2000, conditions: 4 };
  const slotsOf = (period: number) =>
    Array.from({ length: t.conditions }, (_, i) => turnAt(t, (period * t.conditions + i) * t.slotMs + 1).condition);

  it("gives every condition one slot per period, in an order rotated by one each period", () => {
    expect(slotsOf(0)).toEqual([0, 1, 2, 3]);
    expect(slotsOf(1)).toEqual([1, 2, 3, 0]);
    expect(slotsOf(2)).toEqual([2, 3, 0, 1]);
    expect(slotsOf(5)).toEqual([1, 2, 3, 0]);
  });

  it("puts each condition at every position once in `conditions` periods", () => {
    for (let c = 0; c < t.conditions; c++) {
      const positions = [0, 1, 2, 3].map((p) => slotsOf(p).indexOf(c)).sort();
      expect(positions).toEqual([0, 1, 2, 3]);
    }
  });

  it("reports the period and the time into the slot", () => {
    expect(turnAt(t, 0)).toEqual({ condition: 0, period: 0, inSlotMs: 0 });
    expect(turnAt(t, 8000 + 2000 + 250)).toEqual({ condition: 2, period: 1, inSlotMs: 250 });
    expect(turnAt(t, 7999.5)).toEqual({ condition: 3, period: 0, inSlotMs: 1999.5 });
  });
});
