import { type AnyNode, type DocumentNode, parse as parseMomoa } from '@humanwhocodes/momoa';
import JSON5 from 'json5';
import { LineCounter } from 'yaml';
import { locateInJson } from './json-locator.js';
import { spellingsOf } from './legacy-keys.js';
import type { SpecDocument } from './spec-document.js';
import { type SpecLocator, type SpecPath, SpecReporter, type SpecTarget, syntaxProblem } from './spec-error.js';

/** Line numbers of offsets in a text, counted on the first question: most specs never need one. */
function lineCounterOf(text: string): (offset: number) => number {
  let lineCounter: LineCounter | undefined;
  return (offset) => {
    if (!lineCounter) {
      lineCounter = new LineCounter();
      lineCounter.addNewLine(0);
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
    }
    return lineCounter.linePos(offset).line;
  };
}

/** Strict JSON, with JSON.parse for speed: 100k-job specs are mostly JSON written by programs. */
export function parseJson(text: string, source: string): SpecDocument {
  const lineAt = lineCounterOf(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = syntaxProblem(e);
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

/**
 * JSON5 (comments, unquoted keys, trailing commas), as torc reads .json5 files. json5 parses
 * the value; momoa, which knows where every value is, parses the text again only when an error
 * needs a line.
 */
export function parseJson5(text: string, source: string): SpecDocument {
  let value: unknown;
  try {
    value = JSON5.parse(text);
  } catch (e) {
    const line = (e as { lineNumber?: unknown }).lineNumber;
    const problem = syntaxProblem(e)
      .replace(/^JSON5: /, '')
      .replace(/ at \d+:\d+$/, '');
    throw new SpecReporter(source, undefined).errorAtLine(
      'SPEC_SYNTAX',
      '',
      typeof line === 'number' && line > 0 ? line : undefined,
      `invalid JSON5: ${problem}`,
    );
  }
  let ast: DocumentNode | null | undefined;
  const locator: SpecLocator = {
    lineOf(path, target) {
      if (ast === undefined) {
        try {
          ast = parseMomoa(text, { mode: 'json5' });
        } catch {
          // Deep nesting overflows momoa's recursion: the error then names no line.
          ast = null;
        }
      }
      return ast ? locateInMomoa(ast.body, path, target) : undefined;
    },
  };
  return { value, reporter: new SpecReporter(source, locator) };
}

function locateInMomoa(root: AnyNode, path: SpecPath, target: SpecTarget): number | undefined {
  let node: AnyNode = root;
  let found = node.loc.start.line;
  for (let depth = 0; depth < path.length; depth++) {
    const segment = path[depth];
    let keyLine: number | undefined;
    let next: AnyNode | undefined;
    if (node.type === 'Array' && typeof segment === 'number') {
      next = node.elements[segment]?.value;
    } else if (node.type === 'Object') {
      // The last member of a name wins, as in json5's value.
      for (const spelling of spellingsOf(String(segment))) {
        const member = node.members.findLast((m) => memberName(m.name) === spelling);
        if (member) {
          keyLine = member.name.loc.start.line;
          next = member.value;
          break;
        }
      }
    }
    if (!next) return found;
    if (depth === path.length - 1 && target === 'key' && keyLine !== undefined) return keyLine;
    node = next;
    found = node.loc.start.line;
  }
  return found;
}

function memberName(name: AnyNode): string | undefined {
  if (name.type === 'Identifier') return name.name;
  if (name.type === 'String') return name.value;
  return undefined;
}
