-- One claim per transaction id, whatever became of it (journal, parking lot, failures) and while it is
-- still in flight: a batch inserts its ids here first, in the same transaction, so two partitions that
-- carry one id serialise on this key and the second always sees what the first recorded.
create table transaction_claims (
  transaction_id uuid primary key,
  claimed_at timestamptz not null default now()
);
insert into transaction_claims (transaction_id)
  select transaction_id from stock_journal
  union select transaction_id from parked_sales
  union select transaction_id from failed_movements;

-- Messages on `events` that never became a movement: undecodable, invalid, or refused by Postgres.
-- Each also went to `errors`; this row lets psql and `stats` account for every offset.
create table rejected_messages (
  topic text not null,
  partition integer not null,
  "offset" bigint not null,
  code text not null check (code in ('UNDECODABLE', 'INVALID_MOVEMENT', 'APPLY_REFUSED')),
  reason text not null,
  error_id text not null,
  rejected_at timestamptz not null default now(),
  primary key (topic, partition, "offset")
);

-- Offsets the processor could not follow: records removed by retention before they were applied, or a
-- topic recreated below the stored offsets. Written by the processor, resolved by an operator.
create table offset_incidents (
  id bigserial primary key,
  group_id text not null,
  topic text not null,
  partition integer not null,
  kind text not null check (kind in ('EVENTS_EXPIRED', 'TOPIC_RESET')),
  stored_offset bigint,
  log_start bigint not null,
  log_end bigint not null,
  detected_at timestamptz not null default now(),
  resolved_at timestamptz,
  resolved_by text
);
create unique index offset_incidents_open on offset_incidents (group_id, topic, partition, kind)
  where resolved_at is null;

-- A fingerprint of the last record applied (at next_offset - 1): a topic recreated under the ledger is
-- told from the old one by a different record at that offset, even once it has grown past it.
alter table consumer_offsets add column last_record_sha256 text;

-- Stock levels are bigint: two incomings of 2^31 - 1 for one item must not overflow. The processor refuses
-- an incoming that would pass 2^53 - 1 (STOCK_LIMIT), so its arithmetic stays exact.
drop view current_stock;
drop view low_stock;
alter table stock_levels alter column quantity type bigint;
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

alter table failed_movements add constraint failed_movements_code_known
  check (code in ('INSUFFICIENT_STOCK', 'UNKNOWN_ITEM', 'STOCK_LIMIT'));

-- The scheduled retry selects the most overdue sales first.
drop index parked_sales_due;
create index parked_sales_due on parked_sales (next_attempt_at, first_seen_at);

grant select, insert on transaction_claims, rejected_messages to stockflow_app;
grant select, insert, update on offset_incidents to stockflow_app;
grant select on current_stock, low_stock to stockflow_app;
do $$
begin
  execute format('grant usage on all sequences in schema %I to stockflow_app', current_schema());
end $$;
