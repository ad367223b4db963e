-- The web console (`stockflow web`). It connects as stockflow_web, which may only read views and call two
-- narrow, audited actions. The actions are SECURITY DEFINER functions: they run with the schema owner's
-- rights, so the console never holds a write grant on a table.
select pg_advisory_xact_lock(hashtext('stockflow_app_role'));

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'stockflow_web') then
    -- Without login, as stockflow_app: the local stack or `stockflow migrate` (DATABASE_WEB_PASSWORD) enables it.
    create role stockflow_web nologin;
  end if;
  execute format('grant usage on schema %I to stockflow_web', current_schema());
end $$;
alter role stockflow_web set statement_timeout = '10s';
alter role stockflow_web set idle_in_transaction_session_timeout = '30s';

-- Who did it, for re-drives: 'cli:<os user>' or 'web:<name>@<address>'. A re-drive that sends is recorded
-- before it sends ('sending') and finished as 'sent' or 'failed', so the audit never claims a send that did
-- not happen. One confirmed from the console names its preview, and a preview is confirmed at most once.
alter table redrives add column actor text;
alter table redrives add column status text not null default 'sent'
  check (status in ('dry_run', 'sending', 'sent', 'failed', 'changed'));
alter table redrives add column preview_id bigint references redrives (id);
alter table redrives add column finished_at timestamptz;
alter table redrives add column error text;
update redrives set status = 'dry_run' where dry_run;
create unique index redrives_preview_once on redrives (preview_id) where preview_id is not null;

create table threshold_changes (
  id bigserial primary key,
  store_number integer not null,
  item_number integer not null,
  old_threshold integer,
  -- Null: the item-level threshold was removed, and the store's (or the default) applies again.
  new_threshold integer check (new_threshold >= 0),
  actor text not null,
  changed_at timestamptz not null default now()
);
create index threshold_changes_item on threshold_changes (store_number, item_number, changed_at);

-- Indexes the console's searches need on a large ledger: by item across stores, and the low items. None is
-- on quantity or updated_at, which every applied movement changes: the processor's writes stay cheap, and
-- sorting by them sorts the matching keys alone (stock_keys), which stays fast at 100,000 items.
create index stock_levels_item on stock_levels (item_number, store_number);
create index stock_levels_low on stock_levels (store_number, item_number) where low_state > 0;
create index import_outcomes_file on import_outcomes (file_name, recorded_at);
create index alerts_created on alerts (created_at);
create index failed_movements_item on failed_movements (store_number, item_number) where redriven_at is null;

-- Every known item with its level, its state and the threshold that applies (item, else store; null means
-- the processor's LOW_STOCK_DEFAULT).
create view stock_overview as
  select l.store_number, l.item_number, l.quantity, l.updated_at,
         case l.low_state when 2 then 'OUT_OF_STOCK' when 1 then 'LOW' else 'OK' end as state,
         l.low_state,
         coalesce(ti.threshold, ts.threshold) as threshold,
         ti.threshold as item_threshold,
         ts.threshold as store_threshold
  from stock_levels l
  left join stock_thresholds ti on ti.store_number = l.store_number and ti.item_number = l.item_number
  left join stock_thresholds ts on ts.store_number = l.store_number and ts.item_number is null
  where l.last_transaction_id is not null;

-- The searchable columns alone, without the threshold joins: what counting and paging need.
create view stock_keys as
  select store_number, item_number, quantity, updated_at, low_state
  from stock_levels
  where last_transaction_id is not null;

create view journal_entries as
  select transaction_id, event_type, occurred_at, store_number, item_number, quantity, applied_at,
         source_file, source_line, topic, partition, "offset"
  from stock_journal;

-- Failed movements not yet re-driven: what `stockflow redrive` (and the console's re-drive) may send.
create view redrivable_movements as
  select transaction_id, event_type, occurred_at, store_number, item_number, quantity, code, attempts,
         failed_at, source_file, source_line
  from failed_movements
  where redriven_at is null;

create view parked_sales_detail as
  select transaction_id, store_number, item_number, quantity, reason, attempts, first_seen_at, next_attempt_at,
         source_file, source_line
  from parked_sales;

create view import_history as
  select id, file_name, sha256, status, code, message, rows_read, rows_accepted, rows_rejected, rejected_by_code,
         started_at, finished_at, recorded_at
  from import_outcomes;

create view alert_history as
  select alert_id, kind, alert_key, severity, text, item_count, status, attempts, created_at, sent_at,
         next_attempt_at, last_error
  from alerts;

create view ledger_offsets as
  select group_id, topic, partition, next_offset, updated_at from consumer_offsets;

create view pipeline_backlog as
  select (select count(*) from parked_sales)::bigint as parked,
         (select count(*) from outbox where sent_at is null)::bigint as outbox_unsent,
         (select min(created_at) from outbox where sent_at is null) as outbox_oldest;

create view threshold_audit as
  select id, store_number, item_number, old_threshold, new_threshold, actor, changed_at from threshold_changes;

create view redrive_audit as
  select id, redriven_at, filter, dry_run, count, actor, status, preview_id, finished_at, error from redrives;

-- Sets (or, with null, removes) one item's threshold and records who changed it from what.
do $$
begin
  execute format($fn$
    create function set_item_threshold(p_store integer, p_item integer, p_threshold integer, p_actor text)
    returns void language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      previous integer;
    begin
      if p_actor is null or btrim(p_actor) = '' then
        raise exception 'a threshold change needs an actor' using errcode = '22023';
      end if;
      if p_threshold is not null and p_threshold < 0 then
        raise exception 'a threshold cannot be negative' using errcode = '22023';
      end if;
      select threshold into previous from stock_thresholds
        where store_number = p_store and item_number = p_item for update;
      if p_threshold is null then
        delete from stock_thresholds where store_number = p_store and item_number = p_item;
      elsif found then
        update stock_thresholds set threshold = p_threshold where store_number = p_store and item_number = p_item;
      else
        insert into stock_thresholds (store_number, item_number, threshold) values (p_store, p_item, p_threshold);
      end if;
      insert into threshold_changes (store_number, item_number, old_threshold, new_threshold, actor)
        values (p_store, p_item, previous, p_threshold, p_actor);
    end
    $body$ $fn$, current_schema());

  -- The audit row of a re-drive (or its dry run); its id goes with the re-sent events as a header.
  execute format($fn$
    create function record_redrive(p_filter jsonb, p_dry_run boolean, p_count integer, p_actor text,
                                   p_preview_id bigint)
    returns bigint language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      new_id bigint;
    begin
      -- A confirmation names a dry run of the same filter; anything else is not a preview of it.
      if p_preview_id is not null and not exists (
        select 1 from redrives where id = p_preview_id and dry_run and filter = p_filter
      ) then
        raise exception 're-drive preview %% does not match this filter', p_preview_id using errcode = '22023';
      end if;
      insert into redrives (filter, dry_run, count, actor, status, preview_id, finished_at)
      values (p_filter, p_dry_run, p_count, p_actor, case when p_dry_run then 'dry_run' else 'sending' end,
              p_preview_id, case when p_dry_run then now() end)
      returning id into new_id;
      return new_id;
    end
    $body$ $fn$, current_schema());

  -- How a re-drive that sends ended: what it sent, or why it did not.
  execute format($fn$
    create function finish_redrive(p_id bigint, p_status text, p_count integer, p_error text)
    returns void language sql security definer set search_path = %I, pg_temp as $body$
      update redrives set status = p_status, count = p_count, error = p_error, finished_at = now()
      where id = p_id and status = 'sending'
    $body$ $fn$, current_schema());
end $$;

-- Functions are executable by everyone unless revoked.
revoke all on function set_item_threshold(integer, integer, integer, text) from public;
revoke all on function record_redrive(jsonb, boolean, integer, text, bigint) from public;
revoke all on function finish_redrive(bigint, text, integer, text) from public;
grant execute on function set_item_threshold(integer, integer, integer, text) to stockflow_web, stockflow_app;
grant execute on function record_redrive(jsonb, boolean, integer, text, bigint) to stockflow_web, stockflow_app;
grant execute on function finish_redrive(bigint, text, integer, text) to stockflow_web, stockflow_app;

grant select on stock_overview, stock_keys, journal_entries, redrivable_movements, parked_sales_detail, import_history,
  alert_history, ledger_offsets, pipeline_backlog, threshold_audit, redrive_audit, current_stock, low_stock,
  errored_movements, import_problems, schema_migrations to stockflow_web;
grant select on stock_overview, stock_keys, journal_entries, redrivable_movements, parked_sales_detail, import_history,
  alert_history, ledger_offsets, pipeline_backlog, threshold_audit, redrive_audit to stockflow_app;
