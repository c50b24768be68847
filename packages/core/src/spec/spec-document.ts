import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLError } from 'yaml';
import { locateInJson } from './json-locator.js';
import { type SpecLocator, type SpecPath, SpecReporter, type SpecTarget } from './spec-error.js';

export type SpecFormat = 'yaml' | 'json';

/** The spec as plain data, plus the way back from a path in that data to a line in the text. */
export interface SpecDocument {
  value: unknown;
  reporter: SpecReporter;
}

export function parseSpecDocument(text: string, format: SpecFormat, source: string): SpecDocument {
  return format === 'json' ? parseJson(text, source) : parseYaml(text, source);
}

function parseYaml(text: string, source: string): SpecDocument {
  const lineCounter = new LineCounter();
  // merge: specs often share job settings through anchors and `<<` merge keys.
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) throw yamlSyntaxError(syntaxError, text, source);
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
    throw reporter.errorAtLine('SPEC_SYNTAX', '', undefined, `invalid YAML: ${firstLine(e)}`);
  }
}

function yamlSyntaxError(error: YAMLError, text: string, source: string) {
  const line = error.linePos?.[0].line;
  const problem = firstLine(error).replace(/ at line \d+, column \d+:?$/, '');
  // `[prep_{i}]` is the mistake behind most of these: in YAML, a brace inside brackets opens a mapping.
  const lineText = line === undefined ? '' : (text.split('\n', line)[line - 1] ?? '');
  const hint = /\[[^\]"']*\{/.test(lineText) ? ' (inside [ ], quote values with placeholders: ["prep_{i}"])' : '';
  return new SpecReporter(source, undefined).errorAtLine('SPEC_SYNTAX', '', line, `invalid YAML: ${problem}${hint}`);
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
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
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

function parseJson(text: string, source: string): SpecDocument {
  let lineCounter: LineCounter | undefined;
  const lineAt = (offset: number): number => {
    if (!lineCounter) {
      lineCounter = new LineCounter();
      lineCounter.addNewLine(0);
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
    }
    return lineCounter.linePos(offset).line;
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = firstLine(e);
    const position = /at position (\d+)/.exec(message)?.[1];
    const line = lineAt(position === undefined ? text.length : Number(position));
    const problem = message
      .replace(/ in JSON at position \d+.*$/, '')
      .replace(/^Unexpected end of JSON input$/, 'unexpected end of input');
    throw new SpecReporter(source, undefined).errorAtLine('SPEC_SYNTAX', '', line, `invalid JSON: ${problem}`);
  }
  const locator: SpecLocator = {
    lineOf(path, target) {
      const offset = locateInJson(text, path, target);
      return offset === undefined ? undefined : lineAt(offset);
    },
  };
  return { value, reporter: new SpecReporter(source, locator) };
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0]?.trim() ?? '';
}
