-- Channel codes, two more settings (issue 16, points 7 and 8).
--
-- welcome_material_id: the welcome message's link card opens this material (an enterprise or platform
-- one, through the salesperson's own share link, so the opening is tracked as theirs) instead of the
-- salesperson's card. A material unpublished since falls back to the card.
--
-- daily_cap: a rotation's most adds per employee a day (the tenant's day); 0 for none. An employee who
-- reaches it is taken off the channel's WeCom contact way until the day ends (paused_ids, for the day
-- paused_on), so that WeCom sends the next customers to the others; the last employee on a way is never
-- taken off (a contact way needs one).
ALTER TABLE wecom_channels
  ADD COLUMN welcome_material_id uuid,
  ADD COLUMN daily_cap integer NOT NULL DEFAULT 0 CHECK (daily_cap BETWEEN 0 AND 10000),
  ADD COLUMN paused_ids uuid[] NOT NULL DEFAULT '{}',
  ADD COLUMN paused_on date;
-- Today's adds of an employee through a channel (the cap's count).
CREATE INDEX wecom_channel_adds_day_idx ON wecom_channel_adds (tenant_id, channel_id, employee_id, added_at);
