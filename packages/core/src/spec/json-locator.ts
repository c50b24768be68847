import { spellingsOf } from './legacy-keys.js';
import type { SpecPath, SpecTarget } from './spec-error.js';

/**
 * Finds the offset of a path's key or value in JSON text by scanning it, without building a
 * tree: JSON specs are parsed with JSON.parse for speed, and this runs only when an error must
 * name a line. Returns the deepest place found when the path leaves the text (a missing key
 * points at its parent), or undefined when the text is not the JSON it was parsed from.
 */
export function locateInJson(text: string, path: SpecPath, target: SpecTarget): number | undefined {
  let pos = skipSpace(text, 0);
  let found = pos;
  for (let depth = 0; depth < path.length; depth++) {
    const segment = path[depth];
    const isLast = depth === path.length - 1;
    let next: Entry | undefined;
    if (typeof segment === 'number') next = enterArrayItem(text, pos, segment);
    else {
      for (const key of spellingsOf(String(segment))) {
        next = enterMember(text, pos, key);
        if (next) break;
      }
    }
    if (next === undefined) return found;
    if (isLast && target === 'key' && next.keyAt !== undefined) return next.keyAt;
    pos = next.valueAt;
    found = pos;
  }
  return found;
}

interface Entry {
  keyAt?: number;
  valueAt: number;
}

function enterArrayItem(text: string, start: number, index: number): Entry | undefined {
  if (text[start] !== '[') return undefined;
  let pos = skipSpace(text, start + 1);
  if (text[pos] === ']') return undefined;
  for (let i = 0; i < index; i++) {
    pos = skipSpace(text, skipValue(text, pos));
    if (text[pos] !== ',') return undefined;
    pos = skipSpace(text, pos + 1);
  }
  return { valueAt: pos };
}

function enterMember(text: string, start: number, key: string): Entry | undefined {
  if (text[start] !== '{') return undefined;
  let pos = skipSpace(text, start + 1);
  while (text[pos] === '"') {
    const keyAt = pos;
    const keyEnd = skipString(text, pos);
    pos = skipSpace(text, keyEnd);
    if (text[pos] !== ':') return undefined;
    const valueAt = skipSpace(text, pos + 1);
    if (JSON.parse(text.slice(keyAt, keyEnd)) === key) return { keyAt, valueAt };
    pos = skipSpace(text, skipValue(text, valueAt));
    if (text[pos] !== ',') return undefined;
    pos = skipSpace(text, pos + 1);
  }
  return undefined;
}

function skipSpace(text: string, pos: number): number {
  while (pos < text.length && (text[pos] === ' ' || text[pos] === '\n' || text[pos] === '\r' || text[pos] === '\t')) {
    pos++;
  }
  return pos;
}

/** Offset just past the string that starts at pos. */
function skipString(text: string, pos: number): number {
  pos++;
  while (pos < text.length && text[pos] !== '"') pos += text[pos] === '\\' ? 2 : 1;
  return pos + 1;
}

/** Offset just past the value that starts at pos; nesting is counted, not recursed, so depth is no limit. */
function skipValue(text: string, pos: number): number {
  const first = text[pos];
  if (first === '"') return skipString(text, pos);
  if (first !== '{' && first !== '[') {
    while (pos < text.length && !',}] \n\r\t'.includes(text[pos] as string)) pos++;
    return pos;
  }
  let depth = 0;
  do {
    const c = text[pos];
    if (c === '"') {
      pos = skipString(text, pos);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    pos++;
  } while (depth > 0 && pos < text.length);
  return pos;
}
