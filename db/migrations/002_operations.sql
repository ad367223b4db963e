-- Tables for the importer, the alerter and re-drives, and views for people using psql.

-- Content identity: a file whose bytes were already imported is not published again.
create table import_files (
  sha256 text primary key,
  file_name text not null,
  rows_read bigint not null,
  rows_accepted bigint not null,
  rows_rejected bigint not null,
  imported_at timestamptz not null default now()
);

create table alerts (
  alert_id text primary key,
  kind text not null,
  alert_key text not null,
  severity text not null,
  text text not null,
  source_ids text[] not null,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  attempts integer not null default 0,
  next_attempt_at timestamptz,
  last_error text
);
create index alerts_unsent on alerts (next_attempt_at) where sent_at is null;

-- Ids the alerter has already seen, so redelivered errors or low-stock events alert once.
create table alert_seen (
  source_id text primary key,
  seen_at timestamptz not null default now()
);

create table redrives (
  id bigserial primary key,
  redriven_at timestamptz not null default now(),
  filter jsonb not null,
  dry_run boolean not null,
  count integer not null
);

create view current_stock as
  select store_number, item_number, quantity, updated_at, last_transaction_id
  from stock_levels
  where last_transaction_id is not null;

create view low_stock as
  select l.store_number, l.item_number, l.quantity,
         case l.low_state when 2 then 'OUT_OF_STOCK' else 'LOW' end as severity,
         l.low_episode as episode, l.updated_at
  from stock_levels l
  where l.low_state > 0;

create view recent_movements as
  select transaction_id, event_type, store_number, item_number, quantity, occurred_at, applied_at,
         source_file, source_line
  from stock_journal
  order by applied_at desc
  limit 1000;

create view parked_sales_view as
  select transaction_id, store_number, item_number, quantity, reason, attempts,
         first_seen_at, next_attempt_at, now() - first_seen_at as parked_for
  from parked_sales
  order by first_seen_at;

create view errored_movements as
  select transaction_id, code, store_number, item_number, quantity, attempts, failed_at, source_file, source_line,
         'failed' as kind
  from failed_movements
  union all
  select transaction_id, 'TRANSACTION_CONFLICT', (conflicting_payload->>'store_number')::int,
         (conflicting_payload->>'item_number')::int, (conflicting_payload->>'quantity')::int, 1, detected_at,
         null, null, 'conflict'
  from transaction_conflicts;
