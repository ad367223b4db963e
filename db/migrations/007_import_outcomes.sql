-- Every file the importer finished, whatever became of it: rows accepted and rejected by code, or why
-- the whole file was refused. `stats` and psql read rejections by code from here.
create table import_outcomes (
  id bigserial primary key,
  file_name text not null,
  sha256 text,
  status text not null check (status in ('processed', 'failed', 'duplicate')),
  code text,
  message text,
  rows_read bigint not null default 0,
  rows_accepted bigint not null default 0,
  rows_rejected bigint not null default 0,
  rejected_by_code jsonb not null default '{}',
  started_at timestamptz not null,
  finished_at timestamptz not null,
  recorded_at timestamptz not null default now()
);
create index import_outcomes_recorded on import_outcomes (recorded_at);

-- Rows rejected by code, and files refused as a whole by code, for people.
create view import_problems as
  select 'row' as level, e.key as code, sum(e.value::bigint)::bigint as count
  from import_outcomes o, jsonb_each_text(o.rejected_by_code) e
  group by e.key
  union all
  select 'file', code, count(*)::bigint
  from import_outcomes where status = 'failed' and code is not null
  group by code;

grant select, insert on import_outcomes to stockflow_app;
grant select on import_problems to stockflow_app;
do $$
begin
  execute format('grant usage on all sequences in schema %I to stockflow_app', current_schema());
end $$;
