import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { isSluiceError, SluiceError } from '../errors.js';
import type { ResolvedWorkflow } from './resolved-workflow.js';
import { parseSpecDocument, type SpecDocument, type SpecFormat } from './spec-document.js';
import { checkPlainData, MAX_SPEC_BYTES } from './spec-limits.js';
import { resolveSpec } from './spec-resolver.js';
import { validateSpec } from './spec-validator.js';

export interface LoadSpecTextOptions {
  format: SpecFormat;
  /** names the spec in error messages, e.g. its file path */
  source?: string;
}

const MIB = 1024 * 1024;

/** Parses, validates and resolves a workflow spec given as text; every error is one line naming the place. */
export function loadSpecText(text: string, options: LoadSpecTextOptions): ResolvedWorkflow {
  const source = options.source ?? `<${options.format} spec>`;
  refuseOversized(text.length, source, 'characters');
  const document = parseSpecDocument(stripByteOrderMark(text), options.format, source);
  return loadDocument(document);
}

/** The validated, resolved spec; the parsed data it was read from is garbage once validated, before resolving. */
function loadDocument({ value, reporter }: SpecDocument): ResolvedWorkflow {
  checkPlainData(value, reporter);
  const spec = validateSpec(value, reporter);
  return resolveSpec(spec, reporter);
}

/**
 * Loads a workflow spec file, in the format its extension names: .yaml/.yml, .json, .json5,
 * .kdl. Any other file is read as torc does, trying JSON, JSON5, YAML and KDL in turn; the
 * error shown is that of the format the text looks most like.
 */
export async function loadSpecFile(path: string): Promise<ResolvedWorkflow> {
  const text = await readSpecFile(path);
  const format = formatOfExtension(path);
  if (format) return loadSpecText(text, { format, source: path });
  return loadDocument(sniffDocument(stripByteOrderMark(text), path));
}

function sniffDocument(text: string, source: string): SpecDocument {
  const attempt = (format: SpecFormat): SpecDocument | SluiceError => {
    try {
      return parseSpecDocument(text, format, source);
    } catch (e) {
      if (isSluiceError(e) && e.code === 'SPEC_SYNTAX') return e;
      throw e;
    }
  };
  const start = text.trimStart();
  if (start.startsWith('{') || start.startsWith('//') || start.startsWith('/*')) {
    const json = attempt('json');
    if (!(json instanceof SluiceError)) return json;
    const json5 = attempt('json5');
    if (!(json5 instanceof SluiceError)) return json5;
    if (start.startsWith('{')) {
      // A YAML flow mapping also starts with "{".
      const yaml = attempt('yaml');
      if (!(yaml instanceof SluiceError)) return yaml;
    }
    throw json5;
  }
  const yaml = attempt('yaml');
  // KDL text is often a YAML scalar (`name "x"` on one line) rather than a YAML error.
  const yamlIsSpec = !(yaml instanceof SluiceError) && yaml.value !== null && typeof yaml.value === 'object';
  if (yamlIsSpec) return yaml;
  const kdl = attempt('kdl');
  if (!(kdl instanceof SluiceError)) return kdl;
  if (yaml instanceof SluiceError) throw yaml;
  return yaml;
}

/** The file's text, its size checked before it is read: a huge file fails at once, not after filling memory. */
async function readSpecFile(path: string): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile())
        throw new SluiceError('SPEC_READ_FAILED', `${path}: cannot read the workflow spec: not a regular file`, {
          path: '',
        });
      refuseOversized(stat.size, path, 'bytes');
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (isSluiceError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'not a regular file'
          : e instanceof Error
            ? e.message
            : String(e);
    throw new SluiceError('SPEC_READ_FAILED', `${path}: cannot read the workflow spec: ${reason}`, { path: '' });
  }
}

function refuseOversized(size: number, source: string, unit: 'bytes' | 'characters'): void {
  if (size <= MAX_SPEC_BYTES) return;
  throw new SluiceError(
    'SPEC_INVALID',
    `${source}: the workflow spec is ${(size / MIB).toFixed(1)} MiB of ${unit}, more than the ${MAX_SPEC_BYTES / MIB} MiB a spec may have`,
    { path: '' },
  );
}

function formatOfExtension(path: string): SpecFormat | undefined {
  const extension = extname(path).toLowerCase();
  if (extension === '.json') return 'json';
  if (extension === '.json5') return 'json5';
  if (extension === '.kdl') return 'kdl';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return undefined;
}

function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
