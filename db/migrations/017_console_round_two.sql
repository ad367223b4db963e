-- The console, round two: sessions a sign-out really ends, audit rows whose "who" cannot be forged, a
-- threshold edit that recomputes the item's state at once, and an optional item master (names and units).
select pg_advisory_xact_lock(hashtext('stockflow_app_role'));

-- The database role a call came from. Inside a SECURITY DEFINER function current_user is the owner, but
-- the role setting still says what the caller had taken on (the console runs as its owner's login with
-- SET ROLE stockflow_web, or logs in as stockflow_web; both are caught here).
create function caller_role() returns text language sql stable as $$
  select case when current_setting('role') in ('none', '') then session_user::text else current_setting('role') end
$$;

-- An actor says which door it came through ('web:…' for the console, 'cli:…' for the command line); the
-- console's role may only claim the first, and nobody else may claim it.
do $$
begin
  execute format($fn$
    create function check_actor(p_actor text) returns text
    language plpgsql stable set search_path = %I, pg_temp as $body$
    declare
      role_name text := caller_role();
    begin
      if p_actor is null or btrim(p_actor) = '' then
        raise exception 'an audited action needs an actor' using errcode = '22023';
      end if;
      if length(p_actor) > 200 or p_actor ~ '[[:cntrl:]]' then
        raise exception 'an actor is at most 200 printable characters' using errcode = '22023';
      end if;
      if (role_name = 'stockflow_web') <> (p_actor like 'web:%%') then
        raise exception 'role %% may not record actor %%', role_name, p_actor using errcode = '42501';
      end if;
      return role_name;
    end
    $body$ $fn$, current_schema());
end $$;

-- Console sessions live in the cookie, encrypted; this says which of them are still good. Sign-out ends
-- the row, so a copy of the cookie kept from before stops working at once.
create table web_sessions (
  id uuid primary key default gen_random_uuid(),
  user_name text not null,
  address text,
  db_role text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  ended_at timestamptz
);
create index web_sessions_expiry on web_sessions (expires_at);
create view live_web_sessions as
  select id, user_name, created_at, expires_at from web_sessions where ended_at is null and expires_at > now();

do $$
begin
  execute format($fn$
    create function open_web_session(p_user text, p_address text, p_seconds integer) returns uuid
    language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      new_id uuid;
    begin
      if p_seconds is null or p_seconds < 1 or p_seconds > 7 * 86400 then
        raise exception 'a session lasts between a second and a week' using errcode = '22023';
      end if;
      -- Sessions long over are of no use to anyone; they are cleared as new ones open.
      delete from web_sessions where expires_at < now() - interval '7 days';
      insert into web_sessions (user_name, address, db_role, expires_at)
      values (left(p_user, 64), left(p_address, 64), caller_role(), now() + make_interval(secs => p_seconds))
      returning id into new_id;
      return new_id;
    end
    $body$ $fn$, current_schema());
  execute format($fn$
    create function end_web_session(p_id uuid) returns void
    language sql security definer set search_path = %I, pg_temp as $body$
      update web_sessions set ended_at = now() where id = p_id and ended_at is null
    $body$ $fn$, current_schema());
end $$;

-- What the processor runs with, written by it at each start: a threshold edit judges the item's state
-- with the same default and announces a new LOW on the same topic, and no caller chooses either.
create table processor_settings (
  singleton boolean primary key default true check (singleton),
  low_stock_default integer not null check (low_stock_default >= 0),
  low_stock_topic text not null check (length(low_stock_topic) between 1 and 249),
  updated_at timestamptz not null default now()
);
grant select, insert, update on processor_settings to stockflow_app;
grant select on processor_settings to stockflow_web;

-- Threshold edits: the caller's role is recorded, an item nothing was ever booked for is refused, and the
-- item's state is recomputed with the new threshold in the same transaction (the processor holds the
-- row lock while it applies, so the two never interleave). The edit itself sends no alert.
alter table threshold_changes add column db_role text;
drop function set_item_threshold(integer, integer, integer, text);
do $$
begin
  execute format($fn$
    create function set_item_threshold(p_store integer, p_item integer, p_threshold integer, p_actor text)
    returns text language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      role_name text := check_actor(p_actor);
      previous integer;
      present boolean;
      level record;
      applies integer;
      new_state smallint;
      settings record;
    begin
      if p_threshold is not null and p_threshold < 0 then
        raise exception 'a threshold cannot be negative' using errcode = '22023';
      end if;
      if not exists (select 1 from stock_levels where store_number = p_store and item_number = p_item
                                                    and last_transaction_id is not null)
         and not exists (select 1 from failed_movements where store_number = p_store and item_number = p_item)
         and not exists (select 1 from parked_sales where store_number = p_store and item_number = p_item) then
        raise exception 'store %% has no item %%: nothing was ever booked for it', p_store, p_item
          using errcode = '22023';
      end if;
      perform pg_advisory_xact_lock(p_store, p_item);
      select threshold, true into previous, present from stock_thresholds
        where store_number = p_store and item_number = p_item for update;
      if p_threshold is null then
        delete from stock_thresholds where store_number = p_store and item_number = p_item;
      elsif present then
        update stock_thresholds set threshold = p_threshold where store_number = p_store and item_number = p_item;
      else
        insert into stock_thresholds (store_number, item_number, threshold) values (p_store, p_item, p_threshold);
      end if;
      insert into threshold_changes (store_number, item_number, old_threshold, new_threshold, actor, db_role)
        values (p_store, p_item, previous, p_threshold, p_actor, role_name);

      select quantity, low_state, low_episode, last_transaction_id into level from stock_levels
        where store_number = p_store and item_number = p_item and last_transaction_id is not null for update;
      select low_stock_default, low_stock_topic into settings from processor_settings;
      -- Nothing applied yet, or no processor has started since this migration: the state waits for the
      -- next movement, as it always did.
      if level is null or settings is null then
        return null;
      end if;
      select coalesce(p_threshold, (select threshold from stock_thresholds
                                    where store_number = p_store and item_number is null), settings.low_stock_default)
        into applies;
      -- The processor's rule (evaluateLowStock): at or above the threshold and above zero is OK; an item
      -- entering LOW starts an episode, so the next fall inside it does not alert a second time.
      new_state := case when level.quantity >= applies and level.quantity > 0 then 0
                        when level.quantity = 0 then 2 else 1 end;
      if new_state <> level.low_state then
        update stock_levels
           set low_state = new_state,
               low_episode = low_episode + case when level.low_state = 0 then 1 else 0 end
         where store_number = p_store and item_number = p_item;
        -- Entering LOW is announced as a sale crossing the threshold would be (the same LowStock, id and
        -- episode), through the outbox the processor's relay publishes: otherwise the episode this edit
        -- opened would keep the next sale from alerting, and nobody would hear of it.
        if level.low_state = 0 then
          insert into outbox (topic, message_key, schema_name, payload)
          values (settings.low_stock_topic, p_store || ':' || p_item, 'LowStock', jsonb_build_object(
            'event_id', p_store || ':' || p_item || ':' || (level.low_episode + 1) || ':' ||
                        case new_state when 2 then 'OUT_OF_STOCK' else 'LOW' end,
            'episode', level.low_episode + 1,
            'severity', case new_state when 2 then 'OUT_OF_STOCK' else 'LOW' end,
            'store_number', p_store,
            'item_number', p_item,
            'quantity', level.quantity,
            'threshold', applies,
            'transaction_id', level.last_transaction_id::text,
            'occurred_at', (extract(epoch from now()) * 1000)::bigint,
            'detected_at', (extract(epoch from now()) * 1000)::bigint));
        end if;
      end if;
      return case new_state when 2 then 'OUT_OF_STOCK' when 1 then 'LOW' else 'OK' end;
    end
    $body$ $fn$, current_schema());
end $$;

-- Re-drives: the role is recorded; a dry run's count is the selection's, counted here; a send cannot claim
-- more movements than ever failed under its filter. The filter is read the way ledger/redrive.ts applies it.
alter table redrives add column db_role text;
do $$
begin
  execute format($fn$
    create function redrive_matches(p_filter jsonb, p_redrivable_only boolean) returns integer
    language sql stable set search_path = %I, pg_temp as $body$
      select count(*)::int from failed_movements
      where (not p_redrivable_only or (redriven_at is null and code <> 'WITHDRAWN'))
        and (p_filter->>'code' is null or code = p_filter->>'code')
        and (p_filter->>'store' is null or store_number = (p_filter->>'store')::int)
        and (p_filter->>'item' is null or item_number = (p_filter->>'item')::int)
        and (p_filter->>'file' is null or source_file = p_filter->>'file')
        and (p_filter->>'since' is null or failed_at >= (p_filter->>'since')::timestamptz)
        and (p_filter->>'until' is null or failed_at < (p_filter->>'until')::timestamptz)
    $body$ $fn$, current_schema());

  execute format($fn$
    create or replace function record_redrive(p_filter jsonb, p_dry_run boolean, p_count integer, p_actor text,
                                              p_preview_id bigint)
    returns bigint language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      role_name text := check_actor(p_actor);
      new_id bigint;
    begin
      if p_preview_id is not null and not exists (
        select 1 from redrives where id = p_preview_id and dry_run and filter = p_filter
      ) then
        raise exception 're-drive preview %% does not match this filter', p_preview_id using errcode = '22023';
      end if;
      if p_dry_run and p_count <> redrive_matches(p_filter, true) then
        raise exception 'a preview of %% movements, but %% match its filter', p_count, redrive_matches(p_filter, true)
          using errcode = '22023';
      end if;
      if not p_dry_run and p_count <> 0 then
        raise exception 'a re-drive is recorded before it sends, with nothing sent yet' using errcode = '22023';
      end if;
      insert into redrives (filter, dry_run, count, actor, status, preview_id, finished_at, db_role)
      values (p_filter, p_dry_run, p_count, p_actor, case when p_dry_run then 'dry_run' else 'sending' end,
              p_preview_id, case when p_dry_run then now() end, role_name)
      returning id into new_id;
      return new_id;
    end
    $body$ $fn$, current_schema());

  execute format($fn$
    create or replace function finish_redrive(p_id bigint, p_status text, p_count integer, p_error text)
    returns void language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      run record;
    begin
      select filter, db_role, redriven_at into run from redrives where id = p_id and status = 'sending' for update;
      if not found then
        return;
      end if;
      if run.db_role is distinct from caller_role() then
        raise exception 'a re-drive is finished by the role that started it' using errcode = '42501';
      end if;
      if p_status is null or p_status not in ('sent', 'failed', 'changed') then
        raise exception 'a re-drive ends as sent, failed or changed, not %%', p_status using errcode = '22023';
      end if;
      if p_count is null or p_count < 0 or (p_status = 'changed' and p_count <> 0) then
        raise exception 'a re-drive cannot end %% having sent %% movements', p_status, p_count using errcode = '22023';
      end if;
      -- What it can have sent: what is still there to re-drive under its filter, plus every failed movement
      -- the processor has touched since the run began, whatever its filter says now (one it sent may have
      -- been applied, or failed again with a new code and time, or been withdrawn meanwhile).
      if p_count > redrive_matches(run.filter, true) + (select count(*) from failed_movements
                                                        where redriven_at >= run.redriven_at
                                                           or failed_at >= run.redriven_at) then
        raise exception 'a re-drive cannot have sent %% movements: fewer than that were there to re-drive', p_count
          using errcode = '22023';
      end if;
      update redrives set status = p_status, count = p_count, error = p_error, finished_at = now() where id = p_id;
    end
    $body$ $fn$, current_schema());

  -- The revert audit records the calling role (not the login a SET ROLE hides) and checks the actor.
  execute format($fn$
    create or replace function record_revert(p_sha256 text, p_file_name text, p_actor text, p_originals integer,
                                  p_reversals integer, p_already integer, p_withdrawn integer, p_below_zero integer,
                                  out revert_id bigint, out reversal_date timestamptz)
    language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      role_name text := check_actor(p_actor);
    begin
      if not exists (select 1 from import_outcomes where sha256 = p_sha256) then
        raise exception 'no import has sha256 %%', p_sha256 using errcode = '22023';
      end if;
      perform pg_advisory_xact_lock(hashtext('stockflow-revert:' || p_sha256));
      select coalesce(min(r.reversal_date), now()) into reversal_date from file_reverts r where r.sha256 = p_sha256;
      insert into file_reverts (sha256, file_name, actor, db_role, reversal_date, originals, reversals_sent,
                                already_reversed, withdrawn, below_zero)
      values (p_sha256, p_file_name, p_actor, role_name, reversal_date, p_originals, p_reversals,
              p_already, p_withdrawn, p_below_zero)
      returning id into revert_id;
    end
    $body$ $fn$, current_schema());
end $$;

create or replace view threshold_audit as
  select id, store_number, item_number, old_threshold, new_threshold, actor, changed_at, db_role from threshold_changes;
create or replace view redrive_audit as
  select id, redriven_at, filter, dry_run, count, actor, status, preview_id, finished_at, error, db_role from redrives;

-- The item master: what people call an item, and what it is counted in. Optional: an item without a row
-- is shown by its number, as before.
create table item_master (
  item_number integer primary key check (item_number >= 0),
  name text not null check (length(name) between 1 and 120),
  unit text check (length(unit) between 1 and 20),
  updated_at timestamptz not null default now(),
  actor text not null,
  db_role text not null
);
create view item_names as select item_number, name, unit, updated_at, actor from item_master;

-- load_item_master, which writes it all or nothing, is migration 018's, beside the item files.

revoke all on function open_web_session(text, text, integer) from public;
revoke all on function end_web_session(uuid) from public;
revoke all on function set_item_threshold(integer, integer, integer, text) from public;
grant execute on function open_web_session(text, text, integer) to stockflow_web;
grant execute on function end_web_session(uuid) to stockflow_web;
grant execute on function set_item_threshold(integer, integer, integer, text) to stockflow_web, stockflow_app;
grant select on live_web_sessions to stockflow_web;
grant select on item_names to stockflow_web, stockflow_app;
grant select on threshold_audit, redrive_audit to stockflow_web, stockflow_app;
