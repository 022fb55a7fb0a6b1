-- Operators (issue 17): the platform's own staff, who run the SaaS through OperatorService. They sign in
-- with an email and a password (argon2id, as employees' passwords) and get operator tokens, which no
-- tenant RPC accepts.
--
-- operators has no tenant_id and no row-level security, on purpose: an operator belongs to no tenant, and
-- the table holds the platform's own accounts, no tenant's data. `salesctl operator create` writes it as the
-- owner; salesd's application role may only read it (sign-in, and the check that a token's operator is
-- still enabled).
CREATE TABLE operators (
  id            uuid PRIMARY KEY,
  email         text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
  password_hash text NOT NULL,
  -- When the operator was disabled: their tokens stop working at once.
  disabled_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT operators_email_key UNIQUE (email)
);
GRANT SELECT ON operators TO salesapp_app;
