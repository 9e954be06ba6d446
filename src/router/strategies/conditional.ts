import { GatewayError } from '../../server/errors.ts';
import type { Planner } from '../route.ts';
import { compileRuleSet } from '../rules/rule-compiler.ts';

export interface ConditionalBranch {
  /** The rule's source. */
  readonly when: string;
  /** The rule's name, recorded on the input when it matches (MCP policies attach to it). */
  readonly name?: string;
  readonly planner: Planner;
}

/** The first branch whose rule holds picks the plan; the default otherwise. All rules run as one compiled function. */
export function conditionalPlanner(model: string, branches: readonly ConditionalBranch[], fallback: Planner | undefined): Planner {
  const targets = [...new Set([...branches.flatMap((branch) => branch.planner.targets), ...(fallback?.targets ?? [])])];
  const firstRule = compileRuleSet(branches.map((branch) => branch.when));
  return {
    targets,
    plan: (input) => {
      const index = firstRule(input.scope);
      // Never read branches[-1]: an out-of-range read takes V8's slow path.
      const branch = index >= 0 ? branches[index] : undefined;
      if (branch !== undefined) {
        if (branch.name !== undefined) (input.matchedRules ??= []).push(branch.name);
        return branch.planner.plan(input);
      }
      if (fallback !== undefined) return fallback.plan(input);
      throw new GatewayError('no_matching_route', `No routing rule of model '${model}' matches this request, and it has no default.`, {
        param: 'model',
      });
    },
  };
}
