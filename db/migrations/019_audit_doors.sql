-- Audit rows, round three (an attack on 017/018 as both roles): the audit tables are written only through
-- their functions; an actor names one of the known doors (web:, cli:, file:) in plain characters; a re-drive
-- cannot claim movements outside its filter, nor a revert impossible counts or another role's run.
select pg_advisory_xact_lock(hashtext('stockflow_app_role'));

-- The app role wrote these through the functions already; with the direct grants it could also write an
-- audit row claiming the console, whatever check_actor says.
revoke insert, update on redrives from stockflow_app;
revoke insert, update on file_reverts from stockflow_app;
-- Item files are loaded by the importer (the console's upload drops the file into the input folder).
revoke execute on function load_item_master(jsonb, text) from stockflow_web;

-- Characters a reader cannot see or that reorder what is around them: controls, format characters, line
-- and paragraph separators and every default-ignorable code point. Generated from the class in
-- ledger/hidden-characters.ts, which a unit test holds equal to this one.
create or replace function hidden_class() returns text language sql immutable as $$
  select '[\u0001-\u001F\u007F-\u009F\u00AD\u034F\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u115F-\u1160\u17B4-\u17B5\u180B-\u180F\u200B-\u200F\u2028-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0000-\U000E0FFF]'::text
$$;

do $$
begin
  -- An actor is 'web:…', 'cli:…' or 'file:…', in that spelling, with nothing hidden: ' web:', 'WEB:' or a
  -- Cyrillic 'е' read as the console's door, and a right-to-left override can make one name read as another.
  execute format($fn$
    create or replace function check_actor(p_actor text) returns text
    language plpgsql stable set search_path = %I, pg_temp as $body$
    declare
      role_name text := caller_role();
    begin
      if p_actor is null or btrim(p_actor) = '' then
        raise exception 'an audited action needs an actor' using errcode = '22023';
      end if;
      if length(p_actor) > 200 or p_actor ~ hidden_class() then
        raise exception 'an actor is at most 200 printable characters' using errcode = '22023';
      end if;
      if p_actor !~ '^(web|cli|file):' then
        raise exception 'actor %% names no door: it starts web:, cli: or file:', p_actor using errcode = '22023';
      end if;
      if (role_name = 'stockflow_web') <> (p_actor like 'web:%%') then
        raise exception 'role %% may not record actor %%', role_name, p_actor using errcode = '42501';
      end if;
      return role_name;
    end
    $body$ $fn$, current_schema());

  execute format($fn$
    create or replace function open_web_session(p_user text, p_address text, p_seconds integer) returns uuid
    language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      new_id uuid;
    begin
      if p_seconds is null or p_seconds < 1 or p_seconds > 7 * 86400 then
        raise exception 'a session lasts between a second and a week' using errcode = '22023';
      end if;
      if p_user is null or btrim(p_user) = '' or length(p_user) > 64 or p_user ~ hidden_class() or p_user ~ '[<>]' then
        raise exception 'a session names its user in at most 64 printable characters' using errcode = '22023';
      end if;
      delete from web_sessions where expires_at < now() - interval '7 days';
      insert into web_sessions (user_name, address, db_role, expires_at)
      values (p_user, left(p_address, 64), caller_role(), now() + make_interval(secs => p_seconds))
      returning id into new_id;
      return new_id;
    end
    $body$ $fn$, current_schema());

  -- A filter holds only the keys ledger/redrive.ts applies, none of them null: a null or unknown key was read
  -- as no filter here while the audit showed it as a narrower one. A dry run is a preview and names none.
  execute format($fn$
    create or replace function record_redrive(p_filter jsonb, p_dry_run boolean, p_count integer, p_actor text,
                                              p_preview_id bigint)
    returns bigint language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      role_name text := check_actor(p_actor);
      new_id bigint;
    begin
      if jsonb_typeof(p_filter) is distinct from 'object' or exists (
        select 1 from jsonb_each(p_filter) e
        where e.key not in ('code', 'store', 'item', 'file', 'since', 'until')
           or jsonb_typeof(e.value) <> case when e.key in ('store', 'item') then 'number' else 'string' end
           or (e.key in ('store', 'item') and (e.value::text !~ '^[0-9]{1,10}$' or (e.value::text)::bigint > 2147483647))
           or (e.key in ('code', 'file') and (e.value #>> '{}' = '' or e.value #>> '{}' ~ hidden_class()))
      ) then
        raise exception 'a re-drive filter has only code, store, item, file, since and until, each of its type'
          using errcode = '22023';
      end if;
      if p_dry_run and p_preview_id is not null then
        raise exception 'a preview confirms no other preview' using errcode = '22023';
      end if;
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

  -- The bound's second term now keeps to the filter's store, item and file, which a movement keeps when it
  -- fails again (its code and time may change); and an error is kept to 2,000 characters.
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
      if p_count > redrive_matches(run.filter, true) + (
        select count(*) from failed_movements
        where (redriven_at >= run.redriven_at or failed_at >= run.redriven_at)
          and (run.filter->>'store' is null or store_number = (run.filter->>'store')::int)
          and (run.filter->>'item' is null or item_number = (run.filter->>'item')::int)
          and (run.filter->>'file' is null or source_file = run.filter->>'file')
      ) then
        raise exception 'a re-drive cannot have sent %% movements: fewer than that were there to re-drive', p_count
          using errcode = '22023';
      end if;
      update redrives set status = p_status, count = p_count, error = left(p_error, 2000), finished_at = now()
      where id = p_id;
    end
    $body$ $fn$, current_schema());

  -- A revert names the file as its import recorded it, and counts nothing below zero.
  execute format($fn$
    create or replace function record_revert(p_sha256 text, p_file_name text, p_actor text, p_originals integer,
                                  p_reversals integer, p_already integer, p_withdrawn integer, p_below_zero integer,
                                  out revert_id bigint, out reversal_date timestamptz)
    language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      role_name text := check_actor(p_actor);
      accepted bigint;
    begin
      select max(rows_accepted) into accepted from import_outcomes
      where sha256 = p_sha256 and file_name = p_file_name and kind = 'movements';
      if not found or accepted is null then
        raise exception 'no import of movements %% has sha256 %%', p_file_name, p_sha256 using errcode = '22023';
      end if;
      -- Each count is of the file's own movements (a withdrawn parked sale is sent a reversal too), and the
      -- file had no more than it accepted.
      if coalesce(least(p_originals, p_reversals, p_already, p_withdrawn, p_below_zero), -1) < 0
         or p_originals > accepted
         or greatest(p_reversals, p_already, p_withdrawn) > p_originals or p_below_zero > p_reversals then
        raise exception 'a revert counts whole movements, no more than the file had' using errcode = '22023';
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

  -- A revert is finished by the role that recorded it, as a re-drive is.
  execute format($fn$
    create or replace function finish_revert(p_id bigint)
    returns void language plpgsql security definer set search_path = %I, pg_temp as $body$
    begin
      if exists (select 1 from file_reverts where id = p_id and db_role is distinct from caller_role()) then
        raise exception 'a revert is finished by the role that recorded it' using errcode = '42501';
      end if;
      update file_reverts set finished_at = now() where id = p_id and finished_at is null;
    end
    $body$ $fn$, current_schema());

  -- Item names, checked against the same hidden set (the importer checks first, with the same set), and
  -- only as text: a JSON object or number given as a name was stored as its JSON.
  execute format($fn$
    create or replace function load_item_master(p_items jsonb, p_actor text) returns integer
    language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      role_name text := check_actor(p_actor);
      bad record;
      written integer;
    begin
      if jsonb_typeof(p_items) is distinct from 'array' then
        raise exception 'items come as an array' using errcode = '22023';
      end if;
      select e->>'item_number' as item into bad from jsonb_array_elements(p_items) e
        where jsonb_typeof(e->'item_number') is distinct from 'number'
           or case when (e->>'item_number') ~ '^[0-9]{1,10}$' then (e->>'item_number')::bigint > 2147483647
                   else true end
        limit 1;
      if found then
        raise exception 'item_number %% is not a whole number from 0 to 2147483647', bad.item using errcode = '22023';
      end if;
      select (e->>'item_number')::int as item into bad from jsonb_array_elements(p_items) e
        where jsonb_typeof(e->'name') is distinct from 'string'
           or coalesce(jsonb_typeof(e->'unit'), 'null') not in ('string', 'null')
           or btrim(e->>'name') = '' or length(e->>'name') > 120 or e->>'name' ~ hidden_class()
           or btrim(e->>'name') ~ '^[[:space:]\u2800]*$'
           or length(e->>'unit') > 20 or e->>'unit' ~ hidden_class()
        limit 1;
      if found then
        raise exception 'item %% has a blank, too long or unprintable name or unit', bad.item using errcode = '22023';
      end if;
      select (e->>'item_number')::int as item into bad from jsonb_array_elements(p_items) e
        group by 1 having count(*) > 1 limit 1;
      if found then
        raise exception 'item %% is named more than once', bad.item using errcode = '22023';
      end if;
      insert into item_master (item_number, name, unit, actor, db_role)
      select (e->>'item_number')::int, e->>'name', nullif(e->>'unit', ''), p_actor, role_name
      from jsonb_array_elements(p_items) e
      on conflict (item_number) do update
        set name = excluded.name, unit = excluded.unit, updated_at = now(), actor = excluded.actor,
            db_role = excluded.db_role;
      get diagnostics written = row_count;
      return written;
    end
    $body$ $fn$, current_schema());
end $$;
