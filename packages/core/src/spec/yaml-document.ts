import {
  Composer,
  type CST,
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  Parser,
  type YAMLError,
} from 'yaml';
import { spellingsOf } from './legacy-keys.js';
import type { SpecDocument } from './spec-document.js';
import { type SpecLocator, type SpecPath, SpecReporter, type SpecTarget, syntaxProblem } from './spec-error.js';
import { MAX_NESTING } from './spec-limits.js';

/**
 * YAML through the yaml library's two stages, checking between them: its parser is iterative,
 * but its composer recurses, and a stack overflow inside it can leave V8 unable to compile
 * regexes afterwards (the next deep spec aborts the process). So the nesting of the parsed
 * tokens is measured first, without recursion, and a spec nested deeper than any valid one can
 * be is refused before composing.
 */
export function parseYaml(text: string, source: string): SpecDocument {
  const lineCounter = new LineCounter();
  const tokens = [...new Parser(lineCounter.addNewLine).parse(text)];
  const bare = new SpecReporter(source, undefined);
  const tooDeep = deepestPlaceOver(tokens, MAX_NESTING);
  if (tooDeep !== undefined) {
    const line = lineCounter.linePos(tooDeep).line;
    throw bare.errorAtLine('SPEC_SYNTAX', '', line, `invalid YAML: nesting is deeper than ${MAX_NESTING} levels`);
  }
  // merge: specs often share job settings through anchors and `<<` merge keys.
  const docs = [...new Composer({ merge: true }).compose(tokens, true, text.length)];
  const doc = docs[0] as Document.Parsed;
  const syntaxError = doc.errors[0];
  if (syntaxError) throw yamlSyntaxError(syntaxError, text, lineCounter, bare);
  if (docs.length > 1) {
    const line = lineCounter.linePos((docs[1] as Document.Parsed).range[0]).line;
    throw bare.errorAtLine('SPEC_SYNTAX', '', line, 'invalid YAML: the file holds several documents; a spec is one');
  }
  const locator: SpecLocator = {
    lineOf(path, target) {
      const offset = locateInYaml(doc.contents, path, target);
      return offset === undefined ? undefined : lineCounter.linePos(offset).line;
    },
  };
  const reporter = new SpecReporter(source, locator);
  try {
    return { value: doc.toJS(), reporter };
  } catch (e) {
    // toJS refuses alias bombs (too many alias expansions) with an error of its own.
    throw reporter.errorAtLine('SPEC_SYNTAX', '', undefined, `invalid YAML: ${syntaxProblem(e)}`);
  }
}

/** The offset of the first collection nested deeper than `limit`, walking the tokens with a stack of our own. */
function deepestPlaceOver(tokens: readonly CST.Token[], limit: number): number | undefined {
  const stack: { token: CST.Token | null | undefined; depth: number }[] = tokens.map((token) => ({ token, depth: 0 }));
  for (;;) {
    const item = stack.pop();
    if (!item) return undefined;
    const { token, depth } = item;
    if (!token) continue;
    if (token.type === 'document') {
      stack.push({ token: token.value, depth });
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= limit) return token.offset;
      for (const entry of token.items) {
        stack.push({ token: 'key' in entry ? entry.key : undefined, depth: depth + 1 });
        stack.push({ token: entry.value, depth: depth + 1 });
      }
    }
  }
}

function yamlSyntaxError(error: YAMLError, text: string, lineCounter: LineCounter, bare: SpecReporter) {
  const line = lineCounter.linePos(error.pos[0]).line;
  const problem = syntaxProblem(error);
  // `[prep_{i}]` is the mistake behind most of these: in YAML, a brace inside brackets opens a mapping.
  const lineText = lineAt(text, line);
  const hint = /\[[^\]"']*\{/.test(lineText) ? ' (inside [ ], quote values with placeholders: ["prep_{i}"])' : '';
  return bare.errorAtLine('SPEC_SYNTAX', '', line, `invalid YAML: ${problem}${hint}`);
}

/** Line `line` (1-based) of the text, cut short: the hint only needs its start, and a line may be megabytes. */
function lineAt(text: string, line: number): string {
  let start = 0;
  for (let i = 1; i < line && start !== -1; i++) start = text.indexOf('\n', start) + 1 || -1;
  if (start === -1) return '';
  const end = text.indexOf('\n', start);
  return text.slice(start, Math.min(end === -1 ? text.length : end, start + 10_000));
}

function locateInYaml(root: Node | null, path: SpecPath, target: SpecTarget): number | undefined {
  let node: unknown = root;
  let found = (root as Node | null)?.range?.[0];
  for (let depth = 0; depth < path.length; depth++) {
    if (isAlias(node)) break;
    const segment = path[depth];
    let keyNode: Node | undefined;
    let valueNode: unknown;
    if (isSeq(node) && typeof segment === 'number') {
      valueNode = node.items[segment];
    } else if (isMap(node)) {
      let pair: (typeof node.items)[number] | undefined;
      for (const spelling of spellingsOf(String(segment))) {
        pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === spelling);
        if (pair) break;
      }
      if (!pair) break;
      keyNode = pair.key as Node;
      valueNode = pair.value;
    } else {
      break;
    }
    const keyOffset = keyNode?.range?.[0];
    const valueOffset = (valueNode as Node | null | undefined)?.range?.[0];
    if (depth === path.length - 1 && target === 'key' && keyOffset !== undefined) return keyOffset;
    // `key:` with nothing after it has no value node worth pointing at; its key is the place.
    const next = valueOffset ?? keyOffset;
    if (next === undefined) break;
    found = next;
    node = valueNode;
  }
  return found;
}
