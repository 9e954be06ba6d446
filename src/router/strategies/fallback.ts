import type { Planner, Target } from '../route.ts';

/** Every target of the first child, then of the second, and so on. */
export function fallbackPlanner(children: readonly Planner[]): Planner {
  const targets = [...new Set(children.flatMap((child) => child.targets))];
  if (children.length === 1 && children[0] !== undefined) return children[0];
  if (children.every((child) => child.fixed !== undefined)) {
    const fixed: readonly Target[] = children.flatMap((child) => child.fixed ?? []);
    return { plan: () => fixed, targets, fixed };
  }
  return { plan: (input) => children.flatMap((child) => child.plan(input)), targets };
}
