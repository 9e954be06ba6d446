/** Every ordering of `items` (n! of them; meant for the two to four variants a suite compares). */
export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

/**
 * The order in which a round visits the variants: each ordering in turn, so over any whole number
 * of cycles each variant goes first, second and last equally often and right after each other
 * variant equally often. With a fixed or merely rotated order, one variant always runs right
 * after the same other one, and on this machine the first of the list came out 7–15% costlier
 * whichever variant it was (limits suite, session 9: off first, off costliest; list reversed, the
 * first, Redis, costliest).
 */
export function balancedOrder<T>(items: readonly T[], round: number): T[] {
  const orders = permutations(items);
  // The orders come grouped by their first item; consecutive rounds take them from each group in
  // turn, so that however few rounds a use takes (processes started, warm-up passes), every item
  // leads as often as any other. Session 19: with four variants, the six orders starting with
  // `off` were the only ones the limits suite's start-up and warm-up used, and its limits-off
  // gateways came out 3–4% dearer than a second set of the same configuration.
  const perGroup = orders.length / items.length;
  const cycle = round % orders.length;
  return orders[(cycle % items.length) * perGroup + Math.floor(cycle / items.length)] as T[];
}
