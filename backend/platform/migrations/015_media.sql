-- Uploads that cannot change after they were checked (issue 13 finding 7). FinalizeUpload copies each
-- accepted upload to a key of its own (t/<tenant>/file/...), which no upload ticket names, and records the
-- copy; upload_key keeps the key the ticket named, so that finalizing it again answers with the same copy.
-- Finalized uploads count against the tenant's storage quota (SALESD_STORAGE_QUOTA_MIB) until deleted.
ALTER TABLE uploads ADD COLUMN upload_key text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX uploads_upload_key ON uploads (tenant_id, upload_key) WHERE upload_key <> '';
