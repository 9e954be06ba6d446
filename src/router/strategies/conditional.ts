import { GatewayError } from '../../server/errors.ts';
import type { Planner } from '../route.ts';
import type { CompiledRule } from '../rules/rule-compiler.ts';

export interface ConditionalBranch {
  readonly test: CompiledRule;
  /** The rule's name, recorded on the input when it matches (MCP policies attach to it). */
  readonly name?: string;
  readonly planner: Planner;
}

/** The first branch whose rule holds picks the plan; the default otherwise. */
export function conditionalPlanner(model: string, branches: readonly ConditionalBranch[], fallback: Planner | undefined): Planner {
  const targets = [...new Set([...branches.flatMap((branch) => branch.planner.targets), ...(fallback?.targets ?? [])])];
  return {
    targets,
    plan: (input) => {
      const scope = input.scope;
      for (const branch of branches) {
        if (!branch.test(scope)) continue;
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
