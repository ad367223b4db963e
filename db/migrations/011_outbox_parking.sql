-- An outbox row the broker refuses for good (larger than the topic takes, even clipped) used to be retried
-- for ever at the head of the queue, so nothing behind it was published again. Such a row is now set
-- aside, visibly: parked_at and the broker's reason, and counted in pipeline_backlog.
alter table outbox add column parked_at timestamptz, add column park_reason text;

drop index outbox_unsent;
create index outbox_unsent on outbox (id) where sent_at is null and parked_at is null;

create or replace view pipeline_backlog as
  select (select count(*) from parked_sales)::bigint as parked,
         (select count(*) from outbox where sent_at is null and parked_at is null)::bigint as outbox_unsent,
         (select min(created_at) from outbox where sent_at is null and parked_at is null) as outbox_oldest,
         (select count(*) from outbox where parked_at is not null)::bigint as outbox_parked;
