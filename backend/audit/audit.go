// Package audit is the audit log: what admins and managers did, by whom, from where, with the record
// before and after. Domains append an entry in the transaction that makes the change (RecordTx), so an
// action and its record commit together or not at all; admins list and filter the log (Service.List).
// Entries cannot be changed by the application and are kept 400 days (the daily purge, PurgeArgs).
package audit

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/audit/internal/auditdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
)

// Action names what was done: "<what>.<verb>".
type Action string

// The actions recorded.
const (
	EmployeeCreate   Action = "employee.create"
	EmployeeUpdate   Action = "employee.update"
	EmployeeDisable  Action = "employee.disable"
	EmployeeEnable   Action = "employee.enable"
	TeamCreate       Action = "team.create"
	TeamRename       Action = "team.rename"
	TeamDelete       Action = "team.delete"
	SettingsUpdate   Action = "settings.update"
	PasswordReset    Action = "password.reset"
	InvitationResend Action = "invitation.resend"
	SessionRevoke    Action = "session.revoke"
	MaterialApprove  Action = "material.approve"
	MaterialReject   Action = "material.reject"
	MaterialDelete   Action = "material.delete"
	CustomerAssign   Action = "customer.assign"
	CustomerExport   Action = "customer.export"
	WeComConfigure   Action = "wecom.configure"
	PoolCreate       Action = "pool.create"
	PoolUpdate       Action = "pool.update"
	PoolDelete       Action = "pool.delete"
	PoolImport       Action = "pool.import"
	// EmployeeHandover moves an employee's customers, open tasks and follow-ups to successors.
	EmployeeHandover Action = "employee.handover"
	// DirectorySync is a change of teams and employees made by the WeCom directory.
	DirectorySync Action = "directory.sync"
	// The platform's operators' actions on a tenant (OperatorService), in that tenant's log.
	TenantUpdate  Action = "tenant.update"
	TenantSuspend Action = "tenant.suspend"
	TenantResume  Action = "tenant.resume"
	TenantExtend  Action = "tenant.extend"
	// PlanUpdate is a change of the terms of the tenant's plan, in the log of each tenant on it (written by
	// the owner's function operator_audit_plan, migration 044).
	PlanUpdate Action = "plan.update"
)

// RoleOperator is the actor role of the platform's operators (their id is an operator account's).
const RoleOperator = "operator"

// Target kinds.
const (
	TargetEmployee = "employee"
	TargetTeam     = "team"
	TargetTenant   = "tenant"
	TargetMaterial = "material"
	TargetCustomer = "customer"
	TargetSession  = "session"
	TargetExport   = "export"
	TargetPool     = "pool"
)

// Entry is one thing done. Before and After are the record as it was and as it became (any value that
// encodes to JSON; nil for none): only what the action changed or what identifies the target, never a
// secret, a password or a token.
type Entry struct {
	Action     Action
	TargetKind string
	TargetID   uuid.UUID
	Before     any
	After      any
}

// Record is an entry as stored.
type Record struct {
	ID        uuid.UUID
	At        time.Time
	ActorID   uuid.UUID // uuid.Nil: the platform (salesctl, a job)
	ActorRole string
	Address   string
	Entry
	// BeforeJSON and AfterJSON are Before and After as stored ("" for none).
	BeforeJSON, AfterJSON string
}

// RecordTx appends what the caller of ctx did to their tenant's log, inside tx (a transaction of tenant
// tenantID). The actor is the principal in ctx, else the operator in ctx (none: the platform), the
// address the caller's.
func RecordTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, e Entry) error {
	before, err := encode(e.Before)
	if err != nil {
		return fmt.Errorf("audit %s: before: %w", e.Action, err)
	}
	after, err := encode(e.After)
	if err != nil {
		return fmt.Errorf("audit %s: after: %w", e.Action, err)
	}
	p := auditdb.InsertEntryParams{TenantID: tenantID, ID: uuid.Must(uuid.NewV7()), At: time.Now(), Action: string(e.Action),
		TargetKind: e.TargetKind, Address: authn.AddressFrom(ctx), Before: before, After: after}
	if e.TargetID != uuid.Nil {
		p.TargetID = uuid.NullUUID{UUID: e.TargetID, Valid: true}
	}
	if who, ok := authn.FromContext(ctx); ok && who.TenantID == tenantID {
		p.ActorID, p.ActorRole = uuid.NullUUID{UUID: who.EmployeeID, Valid: true}, string(who.Role)
	} else if op, ok := authn.OperatorFrom(ctx); ok {
		p.ActorID, p.ActorRole = uuid.NullUUID{UUID: op.ID, Valid: true}, RoleOperator
	}
	return auditdb.New(tx).InsertEntry(ctx, p)
}

func encode(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// Filter narrows a listing.
type Filter struct {
	ActorID, TargetID uuid.UUID
	// ActionPrefix is an action ("employee.update") or the start of several ("employee.").
	ActionPrefix string
	// Since and Until bound the time (zero: unbounded).
	Since, Until time.Time
	PageSize     int
	PageToken    string
}

// Service lists the log.
type Service struct{ db *platform.DB }

// NewService builds the service.
func NewService(db *platform.DB) *Service { return &Service{db: db} }

// List pages through the caller's tenant's log, newest first. Admins only.
func (s *Service) List(ctx context.Context, p authn.Principal, f Filter) ([]Record, string, error) {
	if p.Role != authn.RoleAdmin {
		return nil, "", platform.PermissionDenied("only admins read the audit log")
	}
	size := f.PageSize
	if size <= 0 || size > 200 {
		size = 50
	}
	q := auditdb.ListEntriesParams{TenantID: p.TenantID, ActionPrefix: strings.TrimSpace(f.ActionPrefix),
		Since: f.Since, Until: f.Until, BeforeAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), BeforeID: uuid.Max, MaxRows: int32(size + 1)}
	if q.Until.IsZero() {
		q.Until = q.BeforeAt
	}
	if f.ActorID != uuid.Nil {
		q.ActorID = uuid.NullUUID{UUID: f.ActorID, Valid: true}
	}
	if f.TargetID != uuid.Nil {
		q.TargetID = uuid.NullUUID{UUID: f.TargetID, Valid: true}
	}
	if f.PageToken != "" {
		at, id, ok := decodeToken(f.PageToken)
		if !ok {
			return nil, "", platform.Invalid("page_token", "not a token this listing returned")
		}
		q.BeforeAt, q.BeforeID = at, id
	}
	var rows []auditdb.ListEntriesRow
	err := s.db.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		rows, err = auditdb.New(tx).ListEntries(ctx, q)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		next = encodeToken(last.At, last.ID)
	}
	out := make([]Record, len(rows))
	for i, r := range rows {
		out[i] = Record{ID: r.ID, At: r.At, ActorID: r.ActorID.UUID, ActorRole: r.ActorRole, Address: r.Address,
			Entry:      Entry{Action: Action(r.Action), TargetKind: r.TargetKind, TargetID: r.TargetID.UUID},
			BeforeJSON: string(r.Before), AfterJSON: string(r.After)}
	}
	return out, next, nil
}

func encodeToken(at time.Time, id uuid.UUID) string {
	b := make([]byte, 8, 24)
	binary.BigEndian.PutUint64(b, uint64(at.UnixMicro()))
	return base64.RawURLEncoding.EncodeToString(append(b, id[:]...))
}

func decodeToken(s string) (time.Time, uuid.UUID, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 24 {
		return time.Time{}, uuid.Nil, false
	}
	id, err := uuid.FromBytes(b[8:])
	if err != nil {
		return time.Time{}, uuid.Nil, false
	}
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))), id, true
}

// PurgeArgs is the daily job that deletes entries past their 400 days.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "audit_purge" }

// PurgeWorker runs PurgeArgs.
func (s *Service) PurgeWorker() river.Worker[PurgeArgs] {
	return &jobs.Statement[PurgeArgs]{Pool: s.db.Pool, SQL: "SELECT purge_audit_log()"}
}
