package platform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"
)

// AppRole is the PostgreSQL role the application runs as. Migrations grant it access to the tables the
// owner creates; it owns nothing and has no BYPASSRLS, so row-level security always applies to it.
const AppRole = "salesapp_app"

// DefaultStatementTimeout is the statement_timeout (in ms) of OpenDB's connections unless their URL sets one.
const DefaultStatementTimeout = "60000"

// DB is the application's PostgreSQL pool. Queries on tenant-owned rows run in a transaction scoped to one
// tenant: [DB.InTenantTx] or [DB.InTenantSnapshot] for one tenant, [DB.PerTenant] for several in one round
// trip. The tracking ingest scopes its own transaction to each tenant of a batch in turn (ScopeIngest). Two
// reviewed functions read across tenants before a tenant is known, each reaching exactly its rows:
// share_tenant (a share code's tenant) and signin_candidates (a login's password hashes, for sign-in).
type DB struct {
	Pool *pgxpool.Pool
}

// DBOption changes how OpenDB's pool keeps its connections.
type DBOption func(*pgxpool.Config, *dbOptions)

type dbOptions struct{ warm bool }

// KeepWarm keeps the pool full and each connection warm, so a request does not pay for a connection's
// first use. The pool opens all its connections in the background (pgxpool's MinConns, unless the URL sets
// pool_min_conns) and opens them again as they retire, which they do spread over a quarter of their
// lifetime rather than together. A new connection first plans a read of every table the role may read
// (WarmSQL), which loads PostgreSQL's per-connection catalog caches: a statement's first run on a new
// connection took 8.5 ms, 2.5 ms after the warm-up (which takes about 35 ms, off the request path).
func KeepWarm() DBOption {
	return func(cfg *pgxpool.Config, o *dbOptions) {
		o.warm = true
		if cfg.MinConns == 0 {
			cfg.MinConns = cfg.MaxConns
		}
		if cfg.MaxConnLifetimeJitter == 0 {
			cfg.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 4
		}
	}
}

// WarmSQL plans (never runs) a read of each table of the schema the role may read. Planning opens the
// table, its indexes and its row-level security policies, which PostgreSQL caches per connection.
const WarmSQL = `DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = current_schema() LOOP
    IF has_table_privilege(t, 'SELECT') THEN
      EXECUTE 'EXPLAIN SELECT * FROM ' || t || ' WHERE false';
    END IF;
  END LOOP;
END $$`

// OpenDB parses the URL and builds a pool. It does not connect: salesd starts (and reports not ready)
// while PostgreSQL is down, and the pool connects when it comes back.
func OpenDB(ctx context.Context, url string, maxConns int32, opts ...DBOption) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	var o dbOptions
	for _, opt := range opts {
		opt(cfg, &o)
	}
	// A write transaction left open holds back every sync pull's cursor (they stop at the snapshot's
	// xmin, cluster-wide): nothing is lost, but the rows after it are sent again on each pull until it
	// ends. salesd never idles inside a transaction, so one that does is a leak: the server ends it.
	if _, set := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	}
	// A statement that runs away (a lock wait, a plan gone wrong) is cancelled rather than holding its
	// connection, and the request behind it, for ever. The URL's own statement_timeout wins.
	if _, set := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = DefaultStatementTimeout
	}
	// google/uuid values go to PostgreSQL as uuids directly: pgx alone encodes them through their
	// driver.Valuer, as text parsed back into bytes, which was a fifth of salesd's CPU on the ingest path
	// (arrays of ids in every batch).
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		pgxuuid.Register(conn.TypeMap())
		if o.warm {
			if _, err := conn.Exec(ctx, WarmSQL); err != nil {
				return fmt.Errorf("warm the connection: %w", err)
			}
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// ErrRoleBypassesRLS wraps CheckRole's refusal of a role that row-level security would not bind.
var ErrRoleBypassesRLS = errors.New("the database role could bypass row-level security")

// CheckRole refuses to let salesd run as a role that row-level security does not bind, however the
// deployment is configured: a superuser, a role with BYPASSRLS, or one owning (itself or through a role it
// belongs to) any table of the schema. Forced row-level security binds owners too, but an owner can turn it
// off (ALTER TABLE ... NO FORCE), so owning is refused as well. The error names the cause and the fix.
func (db *DB) CheckRole(ctx context.Context) error {
	var role string
	var super, bypass bool
	var owned []string
	err := db.Pool.QueryRow(ctx, `
		SELECT r.rolname, r.rolsuper, r.rolbypassrls,
		       coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
		                  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		                    AND pg_has_role(r.oid, c.relowner, 'USAGE')), '{}')
		  FROM pg_roles r WHERE r.rolname = current_user`).Scan(&role, &super, &bypass, &owned)
	if err != nil {
		return fmt.Errorf("check the database role: %w", err)
	}
	const fix = "connect SALESD_DATABASE_URL as the application role (" + AppRole + "), never as the table owner or a superuser"
	switch {
	case super:
		return fmt.Errorf("%w: %q is a superuser; %s", ErrRoleBypassesRLS, role, fix)
	case bypass:
		return fmt.Errorf("%w: %q has BYPASSRLS; %s", ErrRoleBypassesRLS, role, fix)
	case len(owned) > 0:
		if len(owned) > 3 {
			owned = append(owned[:3], fmt.Sprintf("and %d more", len(owned)-3))
		}
		return fmt.Errorf("%w: %q owns tables (%s); %s", ErrRoleBypassesRLS, role, strings.Join(owned, ", "), fix)
	}
	return nil
}

// InTenantTx runs fn in a transaction whose row-level security is scoped to tenantID: every tenant-owned
// table shows and accepts only that tenant's rows, whatever the queries inside say. It commits when fn
// returns nil and rolls back otherwise.
func (db *DB) InTenantTx(ctx context.Context, tenantID uuid.UUID, fn func(tx pgx.Tx) error) error {
	return db.inTenant(ctx, tenantID, "BEGIN", fn)
}

// InTenantTxCustomPlans is InTenantTx for statements that a prepared statement's generic plan (its plan
// after five runs, kept for the connection's life) serves badly: filters switched on and off by
// parameters, or keys matched against an array in a table that grew since the plan was made (planned
// while it was nearly empty, such a statement scans the table whole). Every statement in it is planned for
// its actual values, at the cost of planning each time; the setting rides the BEGIN's round trip.
func (db *DB) InTenantTxCustomPlans(ctx context.Context, tenantID uuid.UUID, fn func(tx pgx.Tx) error) error {
	return db.inTenant(ctx, tenantID, "BEGIN; SET LOCAL plan_cache_mode = force_custom_plan", fn)
}

// InTenantSnapshot runs fn in a read-only REPEATABLE READ transaction of the tenant: every read inside
// sees one snapshot.
func (db *DB) InTenantSnapshot(ctx context.Context, tenantID uuid.UUID, fn func(tx pgx.Tx) error) error {
	return db.inTenant(ctx, tenantID, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn)
}

// InTenantSnapshotCustomPlans is InTenantSnapshot with InTenantTxCustomPlans's planning: for reads whose
// filters parameters switch on and off (a team's figures or the tenant's).
func (db *DB) InTenantSnapshotCustomPlans(ctx context.Context, tenantID uuid.UUID, fn func(tx pgx.Tx) error) error {
	return db.inTenant(ctx, tenantID, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL plan_cache_mode = force_custom_plan", fn)
}

func (db *DB) inTenant(ctx context.Context, tenantID uuid.UUID, begin string, fn func(tx pgx.Tx) error) error {
	if tenantID == uuid.Nil {
		return errNoTenant
	}
	// BEGIN and the tenant's setting in one round trip (the simple protocol runs both). The id is
	// spliced in, not bound: a uuid's text form is hex digits and dashes only.
	opts := pgx.TxOptions{BeginQuery: begin + "; SELECT set_config('app.tenant_id', '" + tenantID.String() + "', true)"}
	return pgx.BeginTxFunc(ctx, db.Pool, opts, fn)
}

// Retry runs fn up to attempts times while it fails only because it raced another transaction (a
// deadlock or a serialization failure), with a short growing pause between tries.
func Retry(ctx context.Context, attempts int, fn func() error) error {
	var err error
	for attempt := range attempts {
		if err = fn(); !IsRaceLost(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

// IsRaceLost reports a deadlock or a serialization failure: the transaction did nothing wrong and can
// simply run again.
func IsRaceLost(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// setTenantSQL scopes the rest of a transaction (an explicit one, or a pipeline's implicit one) to the
// tenant given as $1.
const setTenantSQL = "SELECT set_config('app.tenant_id', $1, true)"

var errNoTenant = errors.New("platform: tenant transaction without a tenant")

// SetTenant scopes the rest of the transaction to tenantID.
func SetTenant(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error {
	if tenantID == uuid.Nil {
		return errNoTenant
	}
	if _, err := tx.Exec(ctx, setTenantSQL, tenantID.String()); err != nil {
		return fmt.Errorf("set tenant: %w", err)
	}
	return nil
}

// PerTenant runs one statement for each of several tenants in a single round trip, each scoped to its
// own tenant as in a tenant transaction: per tenant, the tenant's setting and the statement with the
// arguments args gives for it, all sent as one pipeline. A pipeline runs as one implicit transaction, and
// each setting lasts until the next one, so row-level security scopes every statement to its tenant.
// each gets every tenant's rows (none for a statement without RETURNING), in the order of tenants.
// It is for work that many callers share across tenants (the push workers' reads, the WebSocket hub's
// poll), where a transaction per tenant would cost four round trips each.
func (db *DB) PerTenant(ctx context.Context, tenants []uuid.UUID, sql string, args func(tenantID uuid.UUID) []any,
	each func(tenantID uuid.UUID, rows pgx.Rows) error) error {
	b := &pgx.Batch{}
	for _, t := range tenants {
		if t == uuid.Nil {
			return errNoTenant
		}
		b.Queue(setTenantSQL, t.String())
		b.Queue(sql, args(t)...)
	}
	res := db.Pool.SendBatch(ctx, b)
	defer res.Close()
	for _, t := range tenants {
		if _, err := res.Exec(); err != nil {
			return err
		}
		rows, err := res.Query()
		if err != nil {
			return err
		}
		if err := each(t, rows); err != nil {
			return err
		}
	}
	return res.Close()
}

// ScopedRead is a query runner (sqlc's DBTX) for one single-row read whose tenant a statement chooses
// rather than the caller (a share token's tenant, found by a SECURITY DEFINER function): QueryRow sends
// the scope statement, which sets app.tenant_id as SetTenant does, and the query as one pipeline, one
// round trip where looking the tenant up and then opening a tenant transaction takes six. A pipeline
// runs as one implicit transaction, so the setting scopes the query as a tenant transaction would. It
// runs QueryRow only: Exec and Query fail.
type ScopedRead struct {
	pool  *pgxpool.Pool
	scope string
	args  []any
}

// ScopedRead returns a runner whose reads are scoped by the statement scope run with args.
func (db *DB) ScopedRead(scope string, args ...any) ScopedRead {
	return ScopedRead{pool: db.Pool, scope: scope, args: args}
}

// TenantRead returns a runner whose reads are scoped to tenantID, each in one round trip with the tenant's
// setting: for a few independent reads, where a tenant transaction would add BEGIN's and COMMIT's round
// trips. Each read sees its own snapshot.
func (db *DB) TenantRead(tenantID uuid.UUID) ScopedRead {
	if tenantID == uuid.Nil {
		// Scoped to no tenant: row-level security shows nothing.
		return db.ScopedRead("SELECT set_config('app.tenant_id', '', true)")
	}
	return db.ScopedRead(setTenantSQL, tenantID.String())
}

var errScopedReadOnly = errors.New("platform: a scoped read runs QueryRow and Query only")

// send sends the scope statement and sql as one pipeline and reads the scope's result: sql's is next.
func (r ScopedRead) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue(r.scope, r.args...)
	b.Queue(sql, args...)
	res := r.pool.SendBatch(ctx, b)
	if _, err := res.Exec(); err != nil {
		_ = res.Close()
		return nil, err
	}
	return res, nil
}

// QueryRow runs the scope statement and sql in one pipeline and returns sql's row.
func (r ScopedRead) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	res, err := r.send(ctx, sql, args)
	if err != nil {
		return failedRow{err}
	}
	return pipelinedRow{row: res.QueryRow(), res: res}
}

// Query runs the scope statement and sql in one pipeline and returns sql's rows; closing them ends the
// pipeline.
func (r ScopedRead) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	res, err := r.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := res.Query()
	if err != nil {
		_ = res.Close()
		return nil, err
	}
	return &pipelinedRows{Rows: rows, res: res}, nil
}

// Exec is not supported.
func (ScopedRead) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errScopedReadOnly
}

// pipelinedRows are a pipeline's rows; closing them ends the pipeline (returning the connection), and
// an error ending the pipeline is the rows' error.
type pipelinedRows struct {
	pgx.Rows
	res    pgx.BatchResults
	closed bool
	err    error
}

func (p *pipelinedRows) Close() {
	if p.closed {
		return
	}
	p.closed = true
	p.Rows.Close()
	p.err = p.res.Close()
}

func (p *pipelinedRows) Next() bool {
	if p.Rows.Next() {
		return true
	}
	p.Close()
	return false
}

func (p *pipelinedRows) Err() error {
	if err := p.Rows.Err(); err != nil {
		return err
	}
	return p.err
}

// pipelinedRow is a row of a pipeline, which it ends (returning the connection) once scanned.
type pipelinedRow struct {
	row pgx.Row
	res pgx.BatchResults
}

func (p pipelinedRow) Scan(dest ...any) error {
	if err := p.row.Scan(dest...); err != nil {
		_ = p.res.Close()
		return err
	}
	return p.res.Close()
}

type failedRow struct{ err error }

func (f failedRow) Scan(...any) error { return f.err }

// PostgreSQL error codes the stores translate into domain errors.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgRLSViolation        = "42501"
)

// IsUniqueViolation reports whether err is a unique violation, optionally on the named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	return isPgError(err, pgUniqueViolation, constraint)
}

// IsForeignKeyViolation reports whether err is a foreign key violation, optionally on the named constraint.
func IsForeignKeyViolation(err error, constraint string) bool {
	return isPgError(err, pgForeignKeyViolation, constraint)
}

// IsCheckViolation reports whether err is a check constraint violation, optionally on the named constraint.
func IsCheckViolation(err error, constraint string) bool {
	return isPgError(err, pgCheckViolation, constraint)
}

// IsRowSecurityViolation reports whether a write was refused by a row-level security policy.
func IsRowSecurityViolation(err error) bool {
	return isPgError(err, pgRLSViolation, "")
}

func isPgError(err error, code, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

// Refusal is PostgreSQL's refusal of the data a statement carried (SQLSTATE class 22, a data exception, or
// 23, an integrity violation): the data is wrong, so running the statement again cannot help.
type Refusal struct {
	// Column names the column at fault when PostgreSQL says which.
	Column string
	// Reason says why, for an app developer (never the SQL).
	Reason string
}

// RefusedData reports whether err is PostgreSQL refusing a statement's data, and says why. It is the one
// place that reads SQLSTATE classes; stores and engines ask it rather than compare codes.
func RefusedData(err error) (Refusal, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 || (pgErr.Code[:2] != "22" && pgErr.Code[:2] != "23") {
		return Refusal{}, false
	}
	r := Refusal{Column: pgErr.ColumnName}
	switch pgErr.Code {
	case "22001":
		r.Reason = "a value is longer than this field allows"
	case pgUniqueViolation:
		r.Reason = "it would duplicate something that already exists"
	case pgForeignKeyViolation:
		r.Reason = "it refers to something that does not exist"
	case pgCheckViolation, "23502":
		r.Reason = "a value is not one this field accepts"
	default:
		r.Reason = "the change does not fit the data (" + pgErr.Code + ")"
	}
	return r, true
}
