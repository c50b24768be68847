import { parseJson, parseJson5 } from './json-document.js';
import { parseKdl } from './kdl-document.js';
import type { SpecReporter } from './spec-error.js';
import { parseYaml } from './yaml-document.js';

export const SPEC_FORMATS = ['yaml', 'json', 'json5', 'kdl'] as const;
export type SpecFormat = (typeof SPEC_FORMATS)[number];

/** The spec as plain data, plus the way back from a path in that data to a line in the text. */
export interface SpecDocument {
  value: unknown;
  reporter: SpecReporter;
}

/**
 * Parses spec text in one format into the plain data every format shares. A syntax error is a
 * SPEC_SYNTAX error that names the format tried ("invalid KDL: ..."), its line when known.
 */
export function parseSpecDocument(text: string, format: SpecFormat, source: string): SpecDocument {
  switch (format) {
    case 'json':
      return parseJson(text, source);
    case 'json5':
      return parseJson5(text, source);
    case 'kdl':
      return parseKdl(text, source);
    default:
      return parseYaml(text, source);
  }
}
