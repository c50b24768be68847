-- Up Migration

-- Claims whose plan does not depend on statistics. Right after bulk creation nothing has run
-- ANALYZE: the jobs table says 0 pages, the planner expects one ready row, and it chose a bitmap
-- scan of every ready job plus a sort (218 ms on 200k jobs, growing with the workflow) over the
-- ordered walk of jobs_ready_idx that stops after p_limit rows (3 ms). Both claim queries order by
-- exactly that index's columns, so with sorts ruled out inside the function the index walk is the
-- only plan left, whatever the statistics say. The setting holds for the call only (the function's
-- own SET clause): no session state, safe behind a transaction pooler.
ALTER FUNCTION sluice.jobs_claim(bigint, integer, boolean, integer, bigint, integer, integer, bigint)
  SET enable_sort = off;

-- Down Migration
ALTER FUNCTION sluice.jobs_claim(bigint, integer, boolean, integer, bigint, integer, integer, bigint)
  RESET enable_sort;
