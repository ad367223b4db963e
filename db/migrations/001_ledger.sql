-- The ledger: stock levels, the idempotent journal, the parking lot, and the processor's offsets.
-- Runs with search_path set to the target schema (see lib/db.ts), so names are unqualified.

create table stock_levels (
  store_number integer not null,
  item_number integer not null,
  -- Stock never goes negative: enforced here as well as in the processor.
  quantity integer not null default 0 check (quantity >= 0),
  updated_at timestamptz not null default now(),
  -- Null until a movement is applied: such a row exists only to be locked, and means "unknown item".
  last_transaction_id uuid,
  -- Low-stock episode state: 0 = at or above threshold, 1 = low, 2 = out of stock.
  low_state smallint not null default 0 check (low_state between 0 and 2),
  low_episode integer not null default 0,
  primary key (store_number, item_number)
);

-- Applied movements only, written once and never updated: the idempotency record.
create table stock_journal (
  transaction_id uuid primary key,
  event_type text not null check (event_type in ('incoming', 'sale')),
  occurred_at timestamptz not null,
  store_number integer not null,
  item_number integer not null,
  quantity integer not null check (quantity > 0),
  status text not null default 'applied' check (status = 'applied'),
  applied_at timestamptz not null default now(),
  attempts integer not null default 1,
  source_file text,
  source_line bigint,
  topic text not null,
  partition integer not null,
  "offset" bigint not null
);
create index stock_journal_item on stock_journal (store_number, item_number, applied_at);
create index stock_journal_applied_at on stock_journal (applied_at);

-- Sales that could not be applied yet. Retried when stock arrives for the key, and on a schedule.
create table parked_sales (
  transaction_id uuid primary key,
  occurred_at timestamptz not null,
  store_number integer not null,
  item_number integer not null,
  quantity integer not null check (quantity > 0),
  reason text not null check (reason in ('INSUFFICIENT_STOCK', 'UNKNOWN_ITEM')),
  attempts integer not null,
  attempted_at bigint[] not null,
  first_seen_at timestamptz not null,
  next_attempt_at timestamptz not null,
  source_file text,
  source_line bigint,
  topic text not null,
  partition integer not null,
  "offset" bigint not null
);
create index parked_sales_item on parked_sales (store_number, item_number, "offset");
create index parked_sales_due on parked_sales (next_attempt_at);

-- Sales given up on after the attempts or the park timeout; each also went to `errors`.
-- `stockflow redrive` sends them back to `events` once the cause is fixed.
create table failed_movements (
  transaction_id uuid primary key,
  event_type text not null,
  occurred_at timestamptz not null,
  store_number integer not null,
  item_number integer not null,
  quantity integer not null,
  code text not null,
  error_id text not null,
  attempts integer not null,
  attempted_at bigint[] not null,
  failed_at timestamptz not null default now(),
  source_file text,
  source_line bigint
);
create index failed_movements_code on failed_movements (code, failed_at);

-- A transaction id seen again with a different payload. The first one stands.
create table transaction_conflicts (
  transaction_id uuid not null,
  payload_sha256 text not null,
  first_payload jsonb not null,
  conflicting_payload jsonb not null,
  topic text not null,
  partition integer not null,
  "offset" bigint not null,
  detected_at timestamptz not null default now(),
  primary key (transaction_id, payload_sha256)
);

-- Postgres, not Kafka, is the source of truth for how far each partition has been applied.
create table consumer_offsets (
  group_id text not null,
  topic text not null,
  partition integer not null,
  next_offset bigint not null,
  updated_at timestamptz not null default now(),
  primary key (group_id, topic, partition)
);

-- Side events (errors, low-stock) written in the same transaction as the change that caused them,
-- then published by the relay. At least once; consumers drop duplicates by the payload's id.
create table outbox (
  id bigserial primary key,
  topic text not null,
  message_key text,
  schema_name text not null,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  sent_at timestamptz
);
create index outbox_unsent on outbox (id) where sent_at is null;

-- Low-stock thresholds: per item, or per store when item_number is null.
create table stock_thresholds (
  store_number integer not null,
  item_number integer,
  threshold integer not null check (threshold >= 0)
);
create unique index stock_thresholds_key on stock_thresholds (store_number, coalesce(item_number, -1));

-- Running counters that are not rows of their own, such as identical duplicates dropped.
create table processor_counters (
  name text primary key,
  value bigint not null default 0
);
