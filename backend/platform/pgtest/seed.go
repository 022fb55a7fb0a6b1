package pgtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// Tenant is a tenant made by [DB.NewTenant], with its first admin.
type Tenant struct {
	ID    uuid.UUID
	Admin authn.Principal
}

// NewTenant writes a tenant (50 seats, valid for a year) and an active admin straight into the database
// as the cluster superuser (row-level security is forced on the owner too). It is for domain tests that
// need signed-in callers but are not testing the tenant rules themselves, and it can live here because it
// needs no domain package: only the tables of migration 001. A schema change that breaks it fails every test that uses it, loudly.
func (d *DB) NewTenant(t testing.TB, name string) Tenant {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	_, err := d.Super.Exec(context.Background(),
		"INSERT INTO tenants (id, name, plan, seat_limit, expires_at) VALUES ($1, $2, 'standard', 50, $3)",
		id, name, time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatalf("pgtest: seed tenant: %v", err)
	}
	return Tenant{ID: id, Admin: d.NewEmployee(t, id, authn.RoleAdmin, uuid.Nil)}
}

// NewTeam writes a team of the tenant and returns its id.
func (d *DB) NewTeam(t testing.TB, tenantID uuid.UUID, name string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	if _, err := d.Super.Exec(context.Background(), "INSERT INTO teams (id, tenant_id, name) VALUES ($1, $2, $3)",
		id, tenantID, name); err != nil {
		t.Fatalf("pgtest: seed team: %v", err)
	}
	return id
}

// NewEmployee writes an active employee of the tenant (in teamID unless it is uuid.Nil), signed in on
// device "pgtest" (a live session, as the auth domain would write it), and returns them as the principal a
// signed-in request of theirs would carry.
func (d *DB) NewEmployee(t testing.TB, tenantID uuid.UUID, role authn.Role, teamID uuid.UUID) authn.Principal {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	team := uuid.NullUUID{UUID: teamID, Valid: teamID != uuid.Nil}
	if _, err := d.Super.Exec(context.Background(),
		"INSERT INTO employees (id, tenant_id, name, role, team_id) VALUES ($1, $2, $3, $4, $5)",
		id, tenantID, fmt.Sprintf("%s %s", role, id.String()[24:]), string(role), team); err != nil {
		t.Fatalf("pgtest: seed employee: %v", err)
	}
	session := SignIn(t, d.App, tenantID, id, "pgtest")
	p := authn.Principal{TenantID: tenantID, EmployeeID: id, SessionID: session, DeviceID: "pgtest", Role: role, TeamID: teamID}
	if role == authn.RoleManager && teamID != uuid.Nil {
		p.Leads = []uuid.UUID{teamID} // their own team (migration 055 writes its row)
	}
	return p
}

// SignIn writes a live session (a day long) of an employee on a device, as the auth domain would, and
// returns its id: for tests of packages that may not import auth (push registrations belong to a session).
func SignIn(t testing.TB, db *platform.DB, tenantID, employeeID uuid.UUID, deviceID string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	err := db.InTenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO sessions (id, tenant_id, employee_id, device_id, refresh_hash, expires_at, ends_at)
			VALUES ($1, $2, $3, $4, '\x00', now() + interval '1 day', now() + interval '1 day')`, id, tenantID, employeeID, deviceID)
		return err
	})
	if err != nil {
		t.Fatalf("pgtest: seed session: %v", err)
	}
	return id
}
