-- PLACEHOLDER on branch h-sessions only. tern needs migration numbers without gaps, and 009 belongs to
-- branch h-signin (its 009_accounts.sql: accounts, passwords, invitations). When merging, take h-signin's
-- file in place of this one (git reports both adding this path).
SELECT 1;
