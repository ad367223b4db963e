-- Two alerters delivered one alert twice: a page of 50 alerts shared one lease, a slow webhook outlasted it,
-- and the other alerter took over the rest of the page while the first went on sending it. Each alert is now
-- claimed alone, with a token that the alerter must still hold when it marks the alert sent or failed.
alter table alerts add column lease_token uuid;

-- A file's rejected rows are held until the outcome of their import is recorded (the importer sends its
-- key, import_outcomes.claim_key, with each row), so that one import gives one alert that counts them all
-- (an import longer than the digest window gave two alerts, and the second was throttled).
alter table alert_pending add column file_claim text;
