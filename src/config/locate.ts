import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type YamlPath = ReadonlyArray<string | number>;

export function formatPath(path: YamlPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? segment : `.${segment}`;
  }
  return text === '' ? '(root)' : text;
}

/**
 * The node that best locates a path: the value itself, or for a missing key its
 * nearest existing parent. With `keyOf`, the key node of that entry (for unknown keys).
 */
export function locateNode(document: Document, path: YamlPath, keyOf?: string): Node | undefined {
  let node: unknown = document.contents;
  for (const segment of keyOf === undefined ? path : [...path, keyOf]) {
    const child = childOf(node, segment, keyOf !== undefined && segment === keyOf);
    if (child === undefined) break;
    node = child;
  }
  return node as Node | undefined;
}

function childOf(node: unknown, segment: string | number, wantKey: boolean): unknown {
  if (isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
    if (pair === undefined) return undefined;
    return wantKey ? pair.key : (pair.value ?? pair.key);
  }
  if (isSeq(node) && typeof segment === 'number') return node.items[segment];
  return undefined;
}

export function lineOf(node: Node | undefined, lines: LineCounter): { line: number; column: number } {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const position = lines.linePos(offset);
  return { line: position.line, column: position.col };
}
