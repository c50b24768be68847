import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { SluiceError } from '@sluice/core';

/**
 * Sluice's config files (~/.config/sluice/config.toml, /etc/sluice/config.toml) are a strict
 * subset of TOML: `key = "string"` or `key = 'string'`, comments and blank lines. Nothing else is
 * needed for two URLs, and a parser of our own that refuses everything else (tables, numbers,
 * multi-line strings, unknown keys) fails loudly where a general TOML package would accept and
 * ignore a typo; it also adds nothing to the bundle.
 */
export const CONFIG_KEYS = ['database_url', 'server_url'] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

export interface ConfigEntry {
  value: string;
  file: string;
  line: number;
}
export type ConfigValues = Partial<Record<ConfigKey, ConfigEntry>>;

export interface ConfigFile {
  path: string;
  values: ConfigValues;
  /** permission bits of the file, to refuse passwords in files others can read */
  mode: number;
}

function fail(file: string, line: number, problem: string): never {
  throw new SluiceError('USAGE', `${file}:${line}: ${problem}`);
}

/** TOML allows no control character but tab in a one-line string. */
const isControl = (c: string) => (c < ' ' && c !== '\t') || c === '\x7f';

const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', '\\': '\\' };

/** A TOML basic string starting at text[0] === '"': its value and the rest of the line. */
function basicString(text: string, file: string, line: number): { value: string; rest: string } {
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') return { value, rest: text.slice(i + 1) };
    if (c === '\\') {
      const e = text[i + 1] ?? '';
      if (e in ESCAPES) {
        value += ESCAPES[e];
        i++;
        continue;
      }
      const hex = e === 'u' ? 4 : e === 'U' ? 8 : 0;
      const digits = text.slice(i + 2, i + 2 + hex);
      if (hex === 0 || !/^[0-9A-Fa-f]+$/.test(digits) || digits.length !== hex)
        fail(file, line, `invalid escape \\${e} in a string`);
      const code = Number.parseInt(digits, 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) fail(file, line, `invalid escape \\${e}${digits}`);
      value += String.fromCodePoint(code);
      i += 1 + hex;
      continue;
    }
    if (isControl(c)) fail(file, line, 'control character in a string');
    value += c;
  }
  return fail(file, line, 'unterminated string');
}

function literalString(text: string, file: string, line: number): { value: string; rest: string } {
  const end = text.indexOf("'", 1);
  if (end < 0) fail(file, line, 'unterminated string');
  const value = text.slice(1, end);
  if ([...value].some(isControl)) fail(file, line, 'control character in a string');
  return { value, rest: text.slice(end + 1) };
}

/** Parses a config file's text; every problem is one line naming the file, the line and the key. */
export function parseConfigText(text: string, file: string): ConfigValues {
  const values: ConfigValues = {};
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, index) => {
    const n = index + 1;
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('['))
      fail(file, n, `tables are not supported: set ${CONFIG_KEYS.join(' and ')} at the top of the file`);
    const m = /^([A-Za-z0-9_-]+)[ \t]*=[ \t]*(.*)$/.exec(line);
    if (!m) fail(file, n, 'expected key = "value"');
    const key = m[1] as string;
    const rawValue = m[2] as string;
    if (!(CONFIG_KEYS as readonly string[]).includes(key))
      fail(file, n, `unknown key "${key}" (known: ${CONFIG_KEYS.join(', ')})`);
    const known = key as ConfigKey;
    const earlier = values[known];
    if (earlier) fail(file, n, `${key} is set twice (first on line ${earlier.line})`);
    if (rawValue.startsWith('"""') || rawValue.startsWith("'''"))
      fail(file, n, `${key}: multi-line strings are not supported`);
    if (!rawValue.startsWith('"') && !rawValue.startsWith("'")) fail(file, n, `${key}: expected a quoted string`);
    const { value, rest } = rawValue.startsWith('"')
      ? basicString(rawValue, file, n)
      : literalString(rawValue, file, n);
    const after = rest.trim();
    if (after !== '' && !after.startsWith('#')) fail(file, n, `${key}: unexpected text after the value`);
    if (value === '') fail(file, n, `${key}: empty; remove the line to use the default`);
    values[known] = { value, file, line: n };
  });
  return values;
}

const code = (e: unknown) => (e as { code?: string }).code;

/** Reads and parses one config file; null when it does not exist. */
export function readConfigFile(file: string): ConfigFile | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return null;
    if (code(e) === 'EACCES') throw new SluiceError('USAGE', `${file}: cannot read the config file: permission denied`);
    throw new SluiceError('USAGE', `${file}: cannot read the config file: ${(e as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new SluiceError('USAGE', `${file}: not a regular file`);
    if (stat.size > 65_536) throw new SluiceError('USAGE', `${file}: too large for a config file (over 64 KiB)`);
    return { path: file, values: parseConfigText(readFileSync(fd, 'utf8'), file), mode: stat.mode & 0o777 };
  } catch (e) {
    if (e instanceof SluiceError) throw e;
    throw new SluiceError('USAGE', `${file}: cannot read the config file: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
