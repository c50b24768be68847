/**
 * Job keys of torc's first releases (its sample_workflow still uses them), read as today's
 * names. Locators look a key up under its legacy spellings too, so that errors about a renamed
 * key still name its line.
 */
export const LEGACY_JOB_KEYS: Readonly<Record<string, string>> = {
  resource_requirements_name: 'resource_requirements',
  scheduler_name: 'scheduler',
  blocked_by_job_names: 'depends_on',
  input_file_names: 'input_files',
  output_file_names: 'output_files',
  input_user_data_names: 'input_user_data',
  output_data_names: 'output_user_data',
};

const LEGACY_NAMES_OF = new Map<string, string[]>();
for (const [legacy, current] of Object.entries(LEGACY_JOB_KEYS)) {
  LEGACY_NAMES_OF.set(current, [...(LEGACY_NAMES_OF.get(current) ?? []), legacy]);
}

/** The spellings a key may have in the text: itself, then its legacy names. */
export function spellingsOf(key: string): readonly string[] {
  const legacy = LEGACY_NAMES_OF.get(key);
  return legacy ? [key, ...legacy] : [key];
}
