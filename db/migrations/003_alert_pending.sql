-- Alertable items waiting for their digest window to close. Written in the same transaction that marks
-- the item seen, so a crash between consuming and alerting loses nothing.
create table alert_pending (
  source_id text primary key,
  alert_key text not null,
  kind text not null,
  severity text not null,
  line text not null,
  received_at timestamptz not null default now()
);
create index alert_pending_key on alert_pending (alert_key, received_at);

alter table alerts add column status text not null default 'pending'
  check (status in ('pending', 'sent', 'throttled'));
alter table alerts add column item_count integer not null default 1;
