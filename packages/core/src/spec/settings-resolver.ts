/** Workflow-wide settings: failure handlers and resource monitoring, with torc's defaults. */
import type { FailureHandlerSpec } from './action-schema.js';
import { indexNames } from './name-catalog.js';
import type { ResolvedFailureHandler, ResolvedResourceMonitor } from './resolved-workflow.js';
import type { ResourceMonitorSpec } from './resource-schema.js';
import type { SpecReporter } from './spec-error.js';

/** torc's default: three attempts in all. */
export const DEFAULT_MAX_RETRIES = 3;

export const DEFAULT_RESOURCE_MONITOR: ResolvedResourceMonitor = {
  enabled: false,
  granularity: 'summary',
  sampleIntervalSeconds: 5,
  generatePlots: false,
};

/** The handlers and their names (name -> index); a rule must name exit codes or match them all, not both. */
export function resolveFailureHandlers(
  specs: readonly FailureHandlerSpec[],
  reporter: SpecReporter,
): { handlers: ResolvedFailureHandler[]; names: Map<string, number> } {
  const names = indexNames(
    specs.map((spec, specIndex) => ({ name: spec.name, specIndex })),
    'failure_handlers',
    'failure handler',
    reporter,
  );
  const handlers = specs.map((spec, h) => ({
    name: spec.name,
    rules: spec.rules.map((rule, r) => {
      const path = ['failure_handlers', h, 'rules', r];
      // An empty list and false are torc's defaults for the two keys: both mean "not given".
      const codes = rule.exit_codes?.length ? rule.exit_codes : null;
      const matchAll = rule.match_all_exit_codes === true;
      if (codes && matchAll) {
        throw reporter.error(
          'SPEC_INVALID',
          path,
          'a rule gives either exit_codes or match_all_exit_codes: true, not both (write two rules: the one naming the code wins)',
        );
      }
      if (!codes && !matchAll) {
        throw reporter.error(
          'SPEC_INVALID',
          path,
          'a rule needs "exit_codes" (a list of codes 0..255) or "match_all_exit_codes: true"',
        );
      }
      return {
        exitCodes: codes ? [...new Set(codes)] : null,
        recoveryScript: rule.recovery_script ?? null,
        maxRetries: rule.max_retries ?? DEFAULT_MAX_RETRIES,
      };
    }),
  }));
  return { handlers, names };
}

/**
 * torc's newer `jobs: {enabled, granularity}` block sets job monitoring and wins over the flat
 * keys, which are its older spelling (torc's jobs_config() falls back to them the same way).
 */
export function resolveResourceMonitor(spec: ResourceMonitorSpec | null | undefined): ResolvedResourceMonitor {
  const defaults = DEFAULT_RESOURCE_MONITOR;
  if (!spec) return { ...defaults };
  return {
    enabled: spec.jobs?.enabled ?? spec.enabled ?? defaults.enabled,
    granularity: spec.jobs?.granularity ?? spec.granularity ?? defaults.granularity,
    sampleIntervalSeconds: spec.sample_interval_seconds ?? defaults.sampleIntervalSeconds,
    generatePlots: spec.generate_plots ?? defaults.generatePlots,
  };
}
