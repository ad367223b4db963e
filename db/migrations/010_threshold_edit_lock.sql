-- Two first edits of one item's threshold at once: both read "no row", both insert, and the second failed on
-- the unique index. Edits of one item now take a transaction-scoped lock on (store, item) first, so the
-- second waits, then reads the first's value, updates it, and the audit chains old to new.
do $$
begin
  execute format($fn$
    create or replace function set_item_threshold(p_store integer, p_item integer, p_threshold integer, p_actor text)
    returns void language plpgsql security definer set search_path = %I, pg_temp as $body$
    declare
      previous integer;
      present boolean;
    begin
      if p_actor is null or btrim(p_actor) = '' then
        raise exception 'a threshold change needs an actor' using errcode = '22023';
      end if;
      if p_threshold is not null and p_threshold < 0 then
        raise exception 'a threshold cannot be negative' using errcode = '22023';
      end if;
      -- The two-integer key space is this function's alone (the migrations lock with one bigint key).
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
      insert into threshold_changes (store_number, item_number, old_threshold, new_threshold, actor)
        values (p_store, p_item, previous, p_threshold, p_actor);
    end
    $body$ $fn$, current_schema());
end $$;
