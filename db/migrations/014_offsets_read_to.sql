-- After a committed transactional write the log's last offset is a commit marker, which no consumer is
-- handed, so the ledger's next offset stays one short of the log's end and `stockflow offsets` called the
-- partition behind for ever. The processor now records how far it has read: records it was handed, and the
-- markers and aborted records that its read_committed fetches passed over, which can never be applied.
alter table consumer_offsets add column read_to bigint;

create or replace view ledger_offsets as
  select group_id, topic, partition, next_offset, updated_at, read_to from consumer_offsets;
