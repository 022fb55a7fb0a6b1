-- Note ids are chosen by the app (a note written offline keeps its id), so they are unique per tenant, not
-- across the platform: with a global key, a client that picked an id another tenant had used was told
-- "a note with this id exists", learning another tenant's id (issue 13, finding 8).
ALTER TABLE customer_notes DROP CONSTRAINT customer_notes_pkey;
ALTER TABLE customer_notes ADD CONSTRAINT customer_notes_pkey PRIMARY KEY (tenant_id, id);
