-- What an alert's text needs beyond each item's line, kept with the pending item:
-- a rejected row's line in its file (null for a file refused as a whole), so that an alert for a single
-- rejected row names its file and code as a digest does;
-- a low-stock event's store, item and episode, so that a digest window can tell the items still low when it
-- closes from those that recovered meanwhile (the processor's episode state in stock_levels says which).
alter table alert_pending add column source_line bigint;
alter table alert_pending add column store_number integer;
alter table alert_pending add column item_number integer;
alter table alert_pending add column episode integer;
