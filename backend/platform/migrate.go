package platform

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// schemaVersionTable is where tern records the applied version of our own migrations.
const schemaVersionTable = "schema_version"

// Migrations returns the embedded numbered migration files.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// Migrate brings the database to the current schema: our numbered migrations, then River's. It must run as
// the role that owns the tables (SALESD_MIGRATE_DATABASE_URL). It is safe to run concurrently: tern takes an
// advisory lock, and River's migrations run in one transaction.
func Migrate(ctx context.Context, url string, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close(context.Background())

	m, err := migrate.NewMigrator(ctx, conn, schemaVersionTable)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := m.LoadMigrations(Migrations()); err != nil {
		return fmt.Errorf("migrate: load: %w", err)
	}
	m.OnStart = func(seq int32, name, direction, _ string) {
		log.InfoContext(ctx, "applying migration", "seq", seq, "name", name, "direction", direction)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	defer pool.Close()
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	// River migrates one version per transaction (some of its versions cannot share one). Concurrent
	// migrators are serialized by a session advisory lock held on tern's connection meanwhile.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7215904116)"); err != nil {
		return fmt.Errorf("migrate river: lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(7215904116)") //nolint:errcheck // closing the connection unlocks too
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	for _, v := range res.Versions {
		log.InfoContext(ctx, "applied river migration", "version", v.Version)
	}
	return nil
}

// ErrSchemaBehind says the database has not been migrated to what this binary expects.
var ErrSchemaBehind = errors.New("database schema is not current: run `salesctl migrate`")

// CheckSchema reports nil when PostgreSQL answers, the role passes [DB.CheckRole], and both our migrations
// and River's are current.
func (db *DB) CheckSchema(ctx context.Context) error {
	if err := db.CheckRole(ctx); err != nil {
		return err
	}
	want, err := migrate.FindMigrations(Migrations())
	if err != nil {
		return err
	}
	var have int32
	err = db.Pool.QueryRow(ctx, "SELECT version FROM "+schemaVersionTable).Scan(&have)
	if err != nil {
		if isPgError(err, "42P01", "") { // undefined_table: never migrated
			return ErrSchemaBehind
		}
		return fmt.Errorf("read schema version: %w", err)
	}
	if int(have) != len(want) {
		return fmt.Errorf("%w (at %d, want %d)", ErrSchemaBehind, have, len(want))
	}
	rm, err := rivermigrate.New(riverpgxv5.New(db.Pool), nil)
	if err != nil {
		return err
	}
	res, err := rm.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("read river schema version: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("%w (river: %s)", ErrSchemaBehind, strings.Join(res.Messages, "; "))
	}
	return nil
}
