import { isMap, isScalar, isSeq, Scalar, type Document, type Node } from 'yaml';
import type { YamlPath } from './locate.ts';

/** `${VAR}`, `${VAR:-default}`; `$${...}` stays literal. */
const REFERENCE = /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface MissingVariable {
  readonly path: YamlPath;
  readonly node: Node;
  readonly variable: string;
}

/** A value a reference put into the config (the variable's, or its default), and where: redaction needs to know. */
export interface InterpolatedValue {
  readonly path: YamlPath;
  readonly value: string;
}

export interface Interpolation {
  readonly missing: MissingVariable[];
  readonly values: InterpolatedValue[];
}

/**
 * Replaces environment references in every string scalar of the document, in place.
 * Works on parsed scalars rather than raw text so a value can never change the YAML
 * structure, and positions stay valid for error messages.
 */
export function interpolateEnvironment(document: Document, env: NodeJS.ProcessEnv): Interpolation {
  const interpolation: Interpolation = { missing: [], values: [] };
  const visit = (node: unknown, path: YamlPath): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      interpolateScalar(node, path, env, interpolation);
    }
  };
  visit(document.contents, []);
  return interpolation;
}

function interpolateScalar(node: Scalar, path: YamlPath, env: NodeJS.ProcessEnv, interpolation: Interpolation): void {
  const source = node.value as string;
  let wholeValueIsOneReference = false;
  const result = source.replace(REFERENCE, (match, variable: string, fallback: string | undefined, offset: number) => {
    if (match.startsWith('$$')) return match.slice(1);
    wholeValueIsOneReference = offset === 0 && match.length === source.length;
    const set = env[variable];
    const value = set !== undefined && (set !== '' || fallback === undefined) ? set : fallback;
    if (value === undefined) {
      interpolation.missing.push({ path, node, variable });
      return '';
    }
    if (value !== '') interpolation.values.push({ path, value });
    return value;
  });
  // `port: ${PORT:-8787}` should be a number, as if the value had been written there.
  node.value = wholeValueIsOneReference && node.type === Scalar.PLAIN ? typedScalar(result) : result;
}

// A plain decimal number, as YAML writes one; no leading zeros, hex, octal or infinities.
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

/**
 * A number or a boolean when the variable holds exactly one; otherwise the text as it is set.
 * Not parsed as YAML: a password such as `abc #1` or `"quoted"` must not lose its comment-like
 * tail or its quotes, and `~` or `null` stay text rather than becoming nothing.
 */
function typedScalar(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (!DECIMAL.test(text)) return text;
  const number = Number(text);
  // Digits past what a double holds exactly are an identifier, not a quantity.
  return Number.isInteger(number) && !Number.isSafeInteger(number) ? text : number;
}
