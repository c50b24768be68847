export { formatDuration, parseDuration } from './duration-parser.js';
export * from './resolved-workflow.js';
export { parseMemory } from './size-parser.js';
export type { SpecFormat } from './spec-document.js';
export { type LoadSpecTextOptions, loadSpecFile, loadSpecText } from './spec-loader.js';
export * from './spec-schema.js';
