import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isSluiceError, SluiceError } from '../errors.js';
import type { ResolvedWorkflow } from './resolved-workflow.js';
import { parseSpecDocument, type SpecFormat } from './spec-document.js';
import { resolveSpec } from './spec-resolver.js';
import { validateSpec } from './spec-validator.js';

export interface LoadSpecTextOptions {
  format: SpecFormat;
  /** names the spec in error messages, e.g. its file path */
  source?: string;
}

/** Parses, validates and resolves a workflow spec given as text; every error is one line naming the place. */
export function loadSpecText(text: string, options: LoadSpecTextOptions): ResolvedWorkflow {
  const { spec, reporter } = readSpec(
    stripByteOrderMark(text),
    options.format,
    options.source ?? `<${options.format} spec>`,
  );
  return resolveSpec(spec, reporter);
}

/** The validated spec; the parsed data it was read from is garbage once this returns, before resolving. */
function readSpec(text: string, format: SpecFormat, source: string) {
  const { value, reporter } = parseSpecDocument(text, format, source);
  return { spec: validateSpec(value, reporter), reporter };
}

/**
 * Loads a workflow spec file: JSON for .json, YAML for .yaml and .yml. Any other file is read as
 * JSON when it parses as JSON (much faster on big specs) and as YAML, a superset of JSON, otherwise.
 */
export async function loadSpecFile(path: string): Promise<ResolvedWorkflow> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason =
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e);
    throw new SluiceError('SPEC_READ_FAILED', `${path}: cannot read the workflow spec: ${reason}`, { path: '' });
  }
  const format = formatOfExtension(path);
  if (format) return loadSpecText(text, { format, source: path });
  if (stripByteOrderMark(text).trimStart().startsWith('{')) {
    try {
      return loadSpecText(text, { format: 'json', source: path });
    } catch (e) {
      if (!(isSluiceError(e) && e.code === 'SPEC_SYNTAX')) throw e;
    }
  }
  return loadSpecText(text, { format: 'yaml', source: path });
}

function formatOfExtension(path: string): SpecFormat | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return undefined;
}

function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
