-- An alert the webhook refused for good (4xx) or that ran out of attempts ends as 'failed'.
alter table alerts drop constraint alerts_status_check;
alter table alerts add constraint alerts_status_check
  check (status in ('pending', 'sent', 'throttled', 'failed'));
