-- Pending alert items keep their error code, so one digest per file can count its rows by code.
alter table alert_pending add column code text;
