/**
 * The building blocks every spec schema shares: bounded names, scripts and integers, parameter
 * values, and the markers for torc keys Sluice refuses by name.
 */
import * as z from 'zod';
import { PARAMETER_MODES } from './parameter-combinations.js';
import { parseParameterValues } from './parameter-value-parser.js';
import {
  MAX_INT4,
  MAX_NAME_LENGTH,
  MAX_PATH_LENGTH,
  MAX_REGEX_LENGTH,
  MAX_RESOURCE_COUNT,
  MAX_SCRIPT_LENGTH,
} from './spec-limits.js';

/** Marks a custom issue that the validator reports with this code instead of SPEC_INVALID. */
export const BAD_PARAMETER = { code: 'SPEC_BAD_PARAMETER' };
const UNSUPPORTED = { code: 'SPEC_UNSUPPORTED_KEY' };

/** Schemas of keys torc has and Sluice refuses: never suggested for a misspelled key. */
export const UNSUPPORTED_SCHEMAS = new WeakSet<z.ZodType>();

export const unsupportedProblem = (key: string) => `key ${JSON.stringify(key)} is not supported by Sluice`;

/**
 * torc keys Sluice does not support, per object. They are refused with their own message
 * rather than as unknown keys, so a torc user learns the feature is missing, not misspelled.
 */
export function unsupported<K extends string>(...keys: K[]): Record<K, z.ZodOptional<z.ZodUnknown>> {
  return Object.fromEntries(
    keys.map((key) => {
      const schema = z
        .unknown()
        .superRefine((value, ctx) => {
          // null is absent, as for every optional key: `env:` with nothing after it asks for nothing.
          if (value === undefined || value === null) return;
          ctx.addIssue({ code: 'custom', message: unsupportedProblem(key), params: UNSUPPORTED });
        })
        .optional();
      UNSUPPORTED_SCHEMAS.add(schema);
      return [key, schema];
    }),
  ) as unknown as Record<K, z.ZodOptional<z.ZodUnknown>>;
}

/**
 * torc switches whose default, false, asks for nothing Sluice lacks: false is accepted, so a torc
 * spec that spells out its defaults still loads; true is refused by name.
 */
export function unsupportedUnlessFalse<K extends string>(...keys: K[]): Record<K, z.ZodOptional<z.ZodUnknown>> {
  return Object.fromEntries(
    keys.map((key) => {
      const schema = z
        .unknown()
        .superRefine((value, ctx) => {
          if (value === undefined || value === null || value === false) return;
          const problem = `${unsupportedProblem(key)} (only false, torc's default, is accepted)`;
          ctx.addIssue({ code: 'custom', message: problem, params: UNSUPPORTED });
        })
        .optional();
      UNSUPPORTED_SCHEMAS.add(schema);
      return [key, schema];
    }),
  ) as unknown as Record<K, z.ZodOptional<z.ZodUnknown>>;
}

export const Name = z.string().min(1).max(MAX_NAME_LENGTH);
export const NameList = z.array(Name);
export const Regex = z.string().min(1).max(MAX_REGEX_LENGTH);
export const RegexList = z.array(Regex);
export const Text = z.string();
export const Script = z.string().max(MAX_SCRIPT_LENGTH);
export const PathText = z.string().min(1).max(MAX_PATH_LENGTH);

/** An integer from min to max; every count Sluice stores is a PostgreSQL int4. */
export const boundedInt = (min: number, max: number = MAX_INT4) => z.int().min(min).max(max);
export const ResourceCount = (min: number) => boundedInt(min, MAX_RESOURCE_COUNT);

export const ParameterName = z
  .string()
  .max(MAX_NAME_LENGTH)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    error: 'a parameter name must be letters, digits and _, not starting with a digit',
  });
export type ParameterName = z.infer<typeof ParameterName>;

const ParameterScalar = z.union([z.string(), z.number()]);

/** One parameter's values: "1:100", "0:100:10", "[1,5,10]", "['a','b']", a YAML list, or one value. */
export const ParameterValues = z
  .union([ParameterScalar, z.array(ParameterScalar)], {
    error: 'expected a range like "1:10", a list like "[1,2]" or "[\'a\',\'b\']", a YAML list or a single value',
  })
  .transform((raw, ctx) => {
    const parsed = parseParameterValues(raw);
    if ('value' in parsed) return parsed.value;
    ctx.issues.push({ code: 'custom', message: parsed.problem, input: raw, params: BAD_PARAMETER });
    return z.NEVER;
  });
export type ParameterValues = z.infer<typeof ParameterValues>;

export const Parameters = z.record(ParameterName, ParameterValues);
export type Parameters = z.infer<typeof Parameters>;

export const parameterKeys = {
  parameters: Parameters.nullish(),
  parameter_mode: z.enum(PARAMETER_MODES).nullish(),
  use_parameters: z.array(ParameterName).nullish(),
};
