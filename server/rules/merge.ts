/**
 * Merges the generated validator's violations with a RuleBook judge's, because both can
 * report the same problem: the validator knows the proto's own bounds and the template
 * actions ("recommended_action", "range" on typed scenario members), the judge knows the
 * tenant's config. Showing a client the same warning twice would only confuse it.
 */
import type { Violation } from "../contracts.js";

/**
 * Validator violations first, then judge violations, with duplicates removed:
 * - a validator warning is dropped when the judge reports the same (field, rule) — the
 *   judge's message names the tracking config and version, so it is the more useful one;
 * - a judge warning is dropped when the validator already has an error on that field (the
 *   event is rejected anyway and the error explains why).
 */
export function mergeViolations(validator: readonly Violation[], judged: readonly Violation[]): Violation[] {
  if (judged.length === 0) return validator.slice();
  if (validator.length === 0) return judged.slice();
  const judgedKeys = new Set<string>();
  for (const v of judged) judgedKeys.add(`${v.field}\u0000${v.rule}`);
  const errorFields = new Set<string>();
  const out: Violation[] = [];
  for (const v of validator) {
    if (v.severity === "error") errorFields.add(v.field);
    else if (judgedKeys.has(`${v.field}\u0000${v.rule}`)) continue;
    out.push(v);
  }
  for (const v of judged) if (!errorFields.has(v.field)) out.push(v);
  return out;
}
