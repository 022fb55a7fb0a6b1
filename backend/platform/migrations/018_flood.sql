-- Issue 13, finding 3: a phone number a page's form or beacon sends (phone_left) is whatever someone
-- typed; one from WeChat's getuserphonenumber is the customer's own. A typed number is stored as
-- unverified and never replaces a verified one.
ALTER TABLE customers ADD COLUMN phone_verified boolean NOT NULL DEFAULT false;

-- Numbers already stored that are identities of kind phone came through getuserphonenumber (the only
-- path that adds such an identity).
UPDATE customers c SET phone_verified = true
WHERE c.phone <> '' AND EXISTS (SELECT 1 FROM customer_identities i
                                WHERE i.tenant_id = c.tenant_id AND i.customer_id = c.id AND i.kind = 'phone' AND i.value = c.phone);
