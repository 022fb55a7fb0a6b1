-- What a tenant pays for is the operator's to change, never the application's.
--
-- The application role had UPDATE on every column of tenants (the default privileges of 001), so a bug or an
-- injected statement in any tenant-scoped transaction could raise the tenant's own plan, seats or expiry:
-- row-level security lets a tenant write its own row. From here on it may update every column but those
-- (and the id and creation time). A later migration that adds a column the application writes grants UPDATE
-- on it to salesapp_app by name: column grants do not cover columns added after them.
REVOKE UPDATE ON tenants FROM salesapp_app;
DO $$
DECLARE
  cols text;
BEGIN
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute
   WHERE attrelid = 'tenants'::regclass AND attnum > 0 AND NOT attisdropped
     AND attname NOT IN ('id', 'plan', 'seat_limit', 'expires_at', 'created_at');
  EXECUTE format('GRANT UPDATE (%s) ON tenants TO salesapp_app', cols);
END
$$;
