-- Least privilege: services connect as stockflow_app; migrations run as the schema owner.
-- The journal is insert/select only for the app, so an applied movement cannot be rewritten.
-- Roles belong to the whole cluster, so creating it is serialised across schemas.
select pg_advisory_xact_lock(hashtext('stockflow_app_role'));

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'stockflow_app') then
    -- Created without login; the operator enables it with a password of their choosing
    -- (the local stack does: alter role stockflow_app login password ...).
    create role stockflow_app nologin;
  end if;
  execute format('grant usage on schema %I to stockflow_app', current_schema());
end $$;

alter role stockflow_app set statement_timeout = '30s';
alter role stockflow_app set idle_in_transaction_session_timeout = '60s';

grant select, insert on stock_journal, transaction_conflicts, import_files, redrives, alert_seen to stockflow_app;
grant select, insert, update, delete on stock_levels, parked_sales, failed_movements, consumer_offsets, outbox,
  processor_counters, alerts, alert_pending to stockflow_app;
grant select on stock_thresholds, schema_migrations, current_stock, low_stock, recent_movements, parked_sales_view,
  errored_movements to stockflow_app;
do $$
begin
  execute format('grant usage on all sequences in schema %I to stockflow_app', current_schema());
end $$;
