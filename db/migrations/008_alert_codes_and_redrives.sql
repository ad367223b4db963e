-- Pending alert items keep their error code, so one digest per file can count its rows by code.
alter table alert_pending add column code text;

-- A re-driven failed movement keeps its row, marked, so where it came from and why it failed stay on
-- record; only rows not re-driven count as failed. What went wrong, for psql and `stats`: failed movements
-- not re-driven, conflicts, and messages that never became movements.
alter table failed_movements add column redriven_at timestamptz;
create or replace view errored_movements as
  select transaction_id, code, store_number, item_number, quantity, attempts, failed_at, source_file, source_line,
         'failed' as kind
  from failed_movements
  where redriven_at is null
  union all
  select transaction_id, 'TRANSACTION_CONFLICT', (conflicting_payload->>'store_number')::int,
         (conflicting_payload->>'item_number')::int, (conflicting_payload->>'quantity')::int, 1, detected_at,
         null, null, 'conflict'
  from transaction_conflicts
  union all
  select null, code, null, null, null, 1, rejected_at, null, null, 'rejected'
  from rejected_messages;
