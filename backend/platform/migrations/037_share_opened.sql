-- A forward is counted when someone opens it (issue 14: ShareStats.forwards counted every child link, and a
-- page opened in WeChat mints one for its visitor to pass on, forwarded or not). The tracking ingest sets
-- opened_at on a child share at its first view, in the batch's transaction (share.MarkOpenedTx); shares
-- have no sync trigger, so this writes nothing else.
ALTER TABLE shares ADD COLUMN opened_at timestamptz;
