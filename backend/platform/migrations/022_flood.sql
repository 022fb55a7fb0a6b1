-- Issue 13, finding 3: a phone number a page's form or beacon sends (phone_left) is whatever someone
-- typed; one from WeChat's getuserphonenumber is the customer's own. A typed number is stored as
-- unverified and never replaces a verified one.
ALTER TABLE customers ADD COLUMN phone_verified boolean NOT NULL DEFAULT false;

-- Numbers already stored that are identities of kind phone came through getuserphonenumber (the only
-- path that adds such an identity).
UPDATE customers c SET phone_verified = true
WHERE c.phone <> '' AND EXISTS (SELECT 1 FROM customer_identities i
                                WHERE i.tenant_id = c.tenant_id AND i.customer_id = c.id AND i.kind = 'phone' AND i.value = c.phone);

-- Bursts of new-visitor alerts collapse into one push per salesperson and window: the first new_customer
-- alert opens a window (pushed at once), the ones inside it are recorded (WebSocket and sync get each)
-- but pushed together when it ends, by one job per device. new_customer_until is the open window's end,
-- on the stream row every alerting transaction locks anyway; collapsed_until names the window an alert
-- was left to, so the summary counts exactly its alerts.
ALTER TABLE alert_streams ADD COLUMN new_customer_until timestamptz;
ALTER TABLE alerts ADD COLUMN collapsed_until timestamptz;
CREATE INDEX alerts_collapsed ON alerts (tenant_id, employee_id, collapsed_until) WHERE collapsed_until IS NOT NULL;
