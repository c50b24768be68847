import { type Document, getLocation, InvalidKdlError, type Node, parse as parseKdlV2 } from '@bgotink/kdl';
import { parse as parseKdlV1 } from '@bgotink/kdl/v1-compat';
import { type KdlFail, kdlToSpecData } from './kdl-converter.js';
import type { SpecDocument } from './spec-document.js';
import { formatPath, type SpecLocator, type SpecPath, SpecReporter, syntaxProblem } from './spec-error.js';
import { MAX_NESTING } from './spec-limits.js';

/**
 * KDL as torc writes it: KDL v2 (`#true`), and, for specs written for or exported by older
 * tools, KDL v1 (bare `true`, `r#"..."#`) when the text is not v2. Nodes are mapped onto the
 * plain spec data by kdlToSpecData; lines come from the KDL nodes and entries.
 */
export function parseKdl(text: string, source: string): SpecDocument {
  const document = parseKdlDocument(text, source);
  const bare = new SpecReporter(source, undefined);
  const fail: KdlFail = (path, line, problem, syntax) => {
    throw bare.errorAtLine(syntax ? 'SPEC_SYNTAX' : 'SPEC_INVALID', syntax ? '' : formatPath(path), line, problem);
  };
  // The converter recurses into children: measure the depth first, without recursion.
  const tooDeep = nodeOverDepth(document, MAX_NESTING);
  if (tooDeep)
    fail([], getLocation(tooDeep)?.start.line, `invalid KDL: nesting is deeper than ${MAX_NESTING} levels`, true);
  const value = kdlToSpecData(document.nodes, fail);
  return { value, reporter: new SpecReporter(source, lazyKdlLocator(text, source)) };
}

function nodeOverDepth(document: Document, limit: number): Node | undefined {
  const stack = document.nodes.map((node) => ({ node, depth: 1 }));
  for (;;) {
    const item = stack.pop();
    if (!item) return undefined;
    if (item.depth > limit) return item.node;
    for (const child of item.node.children?.nodes ?? []) stack.push({ node: child, depth: item.depth + 1 });
  }
}

function parseKdlDocument(text: string, source: string): Document {
  try {
    return parseKdlV2(text, { storeLocations: true });
  } catch (v2Error) {
    try {
      return parseKdlV1(text, { storeLocations: true });
    } catch {
      // Neither version: v2's complaint is the one to show, as torc reads v2.
      throw kdlSyntaxError(v2Error, source);
    }
  }
}

function kdlSyntaxError(error: unknown, source: string) {
  const detail = error instanceof InvalidKdlError ? (error.errors?.[0] ?? error) : error;
  const line = detail instanceof InvalidKdlError ? detail.start?.line : undefined;
  const problem = syntaxProblem(detail)
    .replace(/ at \d+:\d+$/, '')
    .replace(/^An unexpected error occurred, .*Maximum call stack size exceeded.*$/, 'nesting is too deep to parse');
  return new SpecReporter(source, undefined).errorAtLine('SPEC_SYNTAX', '', line, `invalid KDL: ${problem}`);
}

/**
 * Lines of the plain data's paths, found by converting the document again with a recorder the
 * first time an error needs one: a spec that loads never pays for the map.
 */
function lazyKdlLocator(text: string, source: string): SpecLocator {
  let lines: Map<string, { value: number | undefined; key: number | undefined }> | undefined;
  const keyOf = (path: SpecPath) => JSON.stringify(path);
  return {
    lineOf(path, target) {
      if (!lines) {
        const map = new Map<string, { value: number | undefined; key: number | undefined }>();
        lines = map;
        try {
          kdlToSpecData(
            parseKdlDocument(text, source).nodes,
            () => {
              throw new Error('unreachable: the document converted once already');
            },
            (at, value, key) => map.set(keyOf(at), { value, key }),
          );
        } catch {
          // The first conversion succeeded, so this cannot fail; if it does, errors name no line.
        }
      }
      const exact = lines.get(keyOf(path));
      if (exact) return (target === 'key' ? exact.key : exact.value) ?? exact.value ?? exact.key;
      // A key the data lacks (a missing required key, a default) is placed at its nearest ancestor.
      for (let n = path.length - 1; n >= 0; n--) {
        const found = lines.get(keyOf(path.slice(0, n)));
        if (found) return found.value ?? found.key;
      }
      return undefined;
    },
  };
}
