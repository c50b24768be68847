/**
 * NOTIFY channels: an interface shared with the SQL in db/migrations, which sends on these
 * names. Payloads are a workflow id as text. A notification is a hint to look at the tables
 * again, never the truth itself.
 */
export const CHANNELS = {
  /** jobs of the workflow became ready */
  jobsReady: 'sluice_jobs_ready',
  /** the workflow was initialized, completed, canceled or reset */
  workflowState: 'sluice_workflow_state',
  /** actions of the workflow became pending */
  actionsPending: 'sluice_actions_pending',
} as const;

export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];
