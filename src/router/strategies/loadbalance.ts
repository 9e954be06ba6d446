import type { Planner, Target } from '../route.ts';
import type { RoutingInput } from '../routing-input.ts';

export type BalanceMethod = 'weighted' | 'round_robin' | 'least_inflight' | 'least_latency';

export interface WeightedChild {
  readonly planner: Planner;
  readonly weight: number;
}

export interface StickyPolicy {
  readonly by: 'user' | 'header';
  readonly header?: string;
}

/** Share of least-latency picks made at random, so a target that was slow once gets measured again. */
const EXPLORE = 0.05;

/**
 * One child chosen by the method, then the others in the method's order (so a failing
 * choice falls over to the rest). With a sticky key, rendezvous hashing keeps a caller on
 * the same child on every replica, weighted, as long as that child is healthy.
 */
export function loadBalancePlanner(children: readonly WeightedChild[], method: BalanceMethod, sticky?: StickyPolicy): Planner {
  const targets = [...new Set(children.flatMap((child) => child.planner.targets))];
  if (children.length === 1 && children[0] !== undefined && sticky === undefined) return children[0].planner;
  const order = orderBy(method, children);
  const expand = (ordered: readonly WeightedChild[], input: RoutingInput): readonly Target[] =>
    ordered.flatMap((child) => child.planner.fixed ?? child.planner.plan(input));
  return {
    targets,
    plan: (input) => {
      const key = sticky === undefined ? undefined : stickyKey(sticky, input);
      return expand(key === undefined ? order() : rendezvous(children, key), input);
    },
  };
}

function orderBy(method: BalanceMethod, children: readonly WeightedChild[]): () => readonly WeightedChild[] {
  switch (method) {
    case 'weighted':
      return () => weightedShuffle(children);
    case 'round_robin':
      return smoothRoundRobin(children);
    case 'least_inflight': {
      const rotate = smoothRoundRobin(children);
      return () => rotate().toSorted((a, b) => inFlight(a) / a.weight - inFlight(b) / b.weight);
    }
    case 'least_latency':
      return () => (Math.random() < EXPLORE ? weightedShuffle(children) : children.toSorted((a, b) => latency(a) - latency(b)));
  }
}

/** Weighted sampling without replacement (Efraimidis-Spirakis): the first pick follows the weights. */
function weightedShuffle(children: readonly WeightedChild[]): WeightedChild[] {
  const keyed = children.map((child) => ({ child, key: -Math.log(Math.random()) / child.weight }));
  keyed.sort((a, b) => a.key - b.key);
  return keyed.map((entry) => entry.child);
}

/** nginx's smooth weighted round robin for the first pick; the others follow in list order. */
function smoothRoundRobin(children: readonly WeightedChild[]): () => WeightedChild[] {
  const current = children.map(() => 0);
  const total = children.reduce((sum, child) => sum + child.weight, 0);
  return () => {
    let best = 0;
    children.forEach((child, index) => {
      current[index] = (current[index] ?? 0) + child.weight;
      if ((current[index] ?? 0) > (current[best] ?? 0)) best = index;
    });
    current[best] = (current[best] ?? 0) - total;
    return [...children.slice(best), ...children.slice(0, best)];
  };
}

function inFlight(child: WeightedChild): number {
  let sum = 0;
  for (const target of child.planner.targets) sum += target.health.inFlight;
  return sum;
}

/** The child's best observed latency; unmeasured children count as 0 so they get measured. */
function latency(child: WeightedChild): number {
  let best = Number.POSITIVE_INFINITY;
  for (const target of child.planner.targets) best = Math.min(best, target.health.observations === 0 ? 0 : target.health.latencyMs);
  return best;
}

function stickyKey(policy: StickyPolicy, input: RoutingInput): string | undefined {
  if (policy.by === 'user') return input.user;
  const value = input.header((policy.header ?? 'x-session-id').toLowerCase());
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Weighted rendezvous hashing: each child scores -weight / ln(hash(key, child)); highest first. */
function rendezvous(children: readonly WeightedChild[], key: string): WeightedChild[] {
  const scored = children.map((child, index) => {
    const unit = (fnv1a(`${index}:${key}`) + 0.5) / 4294967296;
    return { child, score: -child.weight / Math.log(unit) };
  });
  scored.sort((a, b) => b.score - a.score);
  return scored.map((entry) => entry.child);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
