-- One file, one outcome. A crash after the outcome was recorded and before the file moved made the resumed
-- run record a second row: the file was listed twice and its rejected rows counted twice. An outcome is now
-- keyed to the file (content and identity on disk), and a resumed run updates its row instead.
-- It also records where the file's rejected rows were archived, which the alert names: two files of one name
-- end as stock.csv and stock-1.csv, and only the importer knows which is which.
alter table import_outcomes add column claim_key text, add column rejected_csv text;
create unique index import_outcomes_claim on import_outcomes (claim_key);
create index import_outcomes_content on import_outcomes (file_name, sha256, id);
grant update on import_outcomes to stockflow_app;
