-- Item-master files through the importer (#23). An import outcome says what the file held, so the console
-- can show "items loaded" and not offer to revert a list of names. load_item_master writes a whole list or
-- nothing, and refuses bad input with a message (SQLSTATE 22023) instead of failing half-way: an item
-- named twice in one call would otherwise be a cardinality error (21000), which a caller cannot tell from
-- an outage and retries for ever. The importer checks all of this before it calls; this is the last line
-- of defence, and what any other caller (the console's role included) gets.
select pg_advisory_xact_lock(hashtext('stockflow_app_role'));

alter table import_outcomes add column kind text not null default 'movements'
  check (kind in ('movements', 'items'));

create or replace view import_history as
  select o.id, o.file_name, o.sha256, o.status, o.code, o.message, o.rows_read, o.rows_accepted, o.rows_rejected,
         o.rejected_by_code, o.started_at, o.finished_at, o.recorded_at,
         (select min(r.requested_at) from file_reverts r where r.sha256 = o.sha256) as reverted_at,
         o.kind
  from import_outcomes o;

do $$
begin
  execute format($fn$
    create or replace function load_item_master(p_items jsonb, p_actor text) returns integer
    language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      role_name text := check_actor(p_actor);
      -- Controls, soft hyphen, zero-width and bidi marks, line and paragraph separators, word joiners, BOM.
      hidden constant text := '[[:cntrl:]' || chr(173) || chr(1564) || chr(6158) || chr(8203) || '-' || chr(8207)
                              || chr(8232) || '-' || chr(8238) || chr(8288) || '-' || chr(8297) || chr(65279) || ']';
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
        where coalesce(btrim(e->>'name'), '') = '' or length(e->>'name') > 120 or e->>'name' ~ hidden
           or length(e->>'unit') > 20 or e->>'unit' ~ hidden
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

revoke all on function load_item_master(jsonb, text) from public;
grant execute on function load_item_master(jsonb, text) to stockflow_web, stockflow_app;
grant select on import_history to stockflow_app, stockflow_web;
