package contact

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/contact/internal/contactdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// The import of existing contacts (issue 16, point 6). When a tenant connects WeCom, the customers its
// members already have there are read through externalcontact/batch/get_by_user, 100 members and 100
// customers a page, and each (customer, member) pair is tied to its customer as an add callback would tie
// it (customer.WeComContactTx: by unionid, then external userid, else a new customer owned by the member),
// with the member's corp tags mirrored, a timeline entry dated when the member added them and the channel of
// its state credited; no alert
// and no welcome message: these customers are not new to the salesperson. Each page is applied in one
// transaction that also records where the import stands (wecom_contact_imports), so a crash resumes at
// the next page and applies none twice.

// ImportArgs is the job of one tenant's import.
type ImportArgs struct {
	TenantID uuid.UUID `json:"tenant_id"`
}

// Kind implements river.JobArgs.
func (ImportArgs) Kind() string { return "wecom_contact_import" }

// importAttempts bounds the tries of an import; each resumes where the last stopped.
const importAttempts = 10

// InsertOpts implements river.JobArgsWithInsertOpts: one import job waiting or running per tenant.
func (ImportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueWeCom, MaxAttempts: importAttempts, UniqueOpts: river.UniqueOpts{
		ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable},
	}}
}

// ImportWorker runs ImportArgs.
type ImportWorker struct {
	river.WorkerDefaults[ImportArgs]
	s *Service
}

// Timeout implements river.Worker: 50,000 contacts take a few minutes; a run cut short resumes.
func (*ImportWorker) Timeout(*river.Job[ImportArgs]) time.Duration { return time.Hour }

// Work implements river.Worker.
func (w *ImportWorker) Work(ctx context.Context, job *river.Job[ImportArgs]) error {
	err := w.s.Import(ctx, job.Args.TenantID)
	if k := platform.KindOf(err); k == platform.KindPermissionDenied || k == platform.KindFailedPrecondition {
		return river.JobCancel(err) // retrying will not grant the permission; the status says which
	}
	return err
}

// ImportStatus is where a tenant's import stands.
type ImportStatus struct {
	StartedAt  time.Time
	FinishedAt time.Time // zero while it runs
	// Pages read, contacts applied, customers made for them, contacts who were customers already.
	Pages, Contacts, Created, Existing int
	// Error is why the last try stopped ("" when it did not): it resumes by itself unless WeCom refused a
	// permission.
	Error string
}

// RequestImport starts an import of the caller's tenant's existing contacts, or resumes the one under
// way. Admin only; FailedPrecondition when WeCom is not configured.
func (s *Service) RequestImport(ctx context.Context, p authn.Principal) error {
	if p.Role != authn.RoleAdmin {
		return platform.PermissionDenied("only an admin may import WeCom contacts")
	}
	if _, err := s.cfg.WeCom.Client(ctx, p.TenantID, wecom.AppContact); err != nil {
		return err
	}
	return s.cfg.DB.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error { return s.startImportTx(ctx, tx, p.TenantID, true) })
}

// ImportOnceTx queues the tenant's first import, inside the caller's transaction: nothing when one ran or
// runs. The directory calls it when a full sync has made the employees the contacts belong to.
func (s *Service) ImportOnceTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) error {
	return s.startImportTx(ctx, tx, tenantID, false)
}

// startImportTx records the start of an import (again only when again is set and the last one finished)
// and queues its job; an import under way is queued again (River keeps one job per tenant).
func (s *Service) startImportTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, again bool) error {
	q := contactdb.New(tx)
	row, err := q.GetImport(ctx, tenantID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return err
	case row.FinishedAt != nil && !again:
		return nil
	}
	if _, err := q.StartImport(ctx, contactdb.StartImportParams{TenantID: tenantID, StartedAt: s.cfg.Now()}); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err := s.cfg.Queue.InsertTx(ctx, tx, ImportArgs{TenantID: tenantID}, nil); err != nil {
		return fmt.Errorf("queue the contact import: %w", err)
	}
	return nil
}

// ImportState reads where the caller's tenant's import stands (nil when none ran). Admin only.
func (s *Service) ImportState(ctx context.Context, p authn.Principal) (*ImportStatus, error) {
	if p.Role != authn.RoleAdmin {
		return nil, platform.PermissionDenied("only an admin may read the WeCom contact import")
	}
	var out *ImportStatus
	err := s.cfg.DB.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		r, err := contactdb.New(tx).GetImport(ctx, p.TenantID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		out = &ImportStatus{StartedAt: r.StartedAt, Pages: int(r.Pages), Contacts: int(r.Contacts), Created: int(r.Created),
			Existing: int(r.Merged), Error: r.Error}
		if r.FinishedAt != nil {
			out.FinishedAt = *r.FinishedAt
		}
		return nil
	})
	return out, err
}

// importChunk is how many members one batch/get_by_user listing names.
const importChunk = wecomapi.MaxBatchUsers

// Import runs the tenant's import from where it stands to its end. A failure is recorded for ImportState
// and returned; calling Import again resumes.
func (s *Service) Import(ctx context.Context, tenantID uuid.UUID) error {
	client, err := s.cfg.WeCom.Client(ctx, tenantID, wecom.AppContact)
	if err == nil {
		err = s.importAll(ctx, tenantID, client)
	}
	if err == nil || ctx.Err() != nil {
		return err
	}
	msg := wecom.ClipError(err)
	if serr := s.cfg.DB.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return contactdb.New(tx).ImportFailed(ctx, contactdb.ImportFailedParams{TenantID: tenantID, Error: msg})
	}); serr != nil {
		return errors.Join(err, serr)
	}
	s.cfg.Log.WarnContext(ctx, "wecom contact import stopped", "tenant", tenantID, "err", err)
	return err
}

func (s *Service) importAll(ctx context.Context, tenantID uuid.UUID, client *wecomapi.Client) error {
	var st contactdb.WecomContactImport
	if err := s.cfg.DB.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		st, err = contactdb.New(tx).GetImport(ctx, tenantID)
		return err
	}); errors.Is(err, pgx.ErrNoRows) {
		return nil // never started: nothing to do
	} else if err != nil {
		return err
	}
	_, names, err := s.readLibrary(ctx, tenantID, client)
	if err != nil {
		return err
	}
	owners := map[string]uuid.UUID{}
	for st.FinishedAt == nil {
		if len(st.Chunk) == 0 {
			if err := s.cfg.DB.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
				var err error
				st.Chunk, err = contactdb.New(tx).ImportMembers(ctx, contactdb.ImportMembersParams{TenantID: tenantID,
					AfterUserid: st.AfterUserid, MaxRows: importChunk})
				return err
			}); err != nil {
				return err
			}
			st.Cursor = ""
		}
		var page wecomapi.BatchPage
		if len(st.Chunk) > 0 {
			var err error
			if page, err = client.ExternalContactsByUser(ctx, wecomapi.BatchRequest{UserIDs: st.Chunk, Cursor: st.Cursor}); err != nil {
				return err
			}
		}
		next, err := s.applyPage(ctx, tenantID, st, page, owners, names)
		if err != nil {
			return err
		}
		st = next
	}
	return nil
}

// applyPage applies one page of the chunk st names and records what follows it, in one transaction. A
// page another run applied meanwhile (the stored state moved on) is not applied again: the stored state
// is returned to go on from.
func (s *Service) applyPage(ctx context.Context, tenantID uuid.UUID, st contactdb.WecomContactImport, page wecomapi.BatchPage,
	owners map[string]uuid.UUID, tags map[string]string) (contactdb.WecomContactImport, error) {
	err := s.cfg.DB.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		q := contactdb.New(tx)
		cur, err := q.LockImport(ctx, tenantID)
		if err != nil {
			return err
		}
		if cur.Pages != st.Pages || !cur.StartedAt.Equal(st.StartedAt) || cur.FinishedAt != nil {
			st = cur
			return nil
		}
		if err := s.ownersOf(ctx, q, tenantID, st.Chunk, owners); err != nil {
			return err
		}
		for _, cf := range page.Contacts {
			if cf.Contact.ExternalUserID == "" {
				continue
			}
			created, err := s.importContactTx(ctx, tx, tenantID, cf, owners[cf.Follow.UserID], tags)
			if err != nil {
				return err
			}
			st.Contacts++
			if created {
				st.Created++
			} else {
				st.Merged++
			}
		}
		st.Error = ""
		switch {
		case len(st.Chunk) == 0:
			st.Chunk, st.FinishedAt = []string{}, ptr(s.cfg.Now())
		case page.NextCursor == "":
			st.AfterUserid, st.Chunk, st.Cursor = st.Chunk[len(st.Chunk)-1], []string{}, ""
			clear(owners)
		default:
			st.Cursor = page.NextCursor
		}
		if st.FinishedAt == nil {
			st.Pages++
		}
		return q.SaveImport(ctx, contactdb.SaveImportParams{TenantID: tenantID, Chunk: st.Chunk, AfterUserid: st.AfterUserid,
			Cursor: st.Cursor, Pages: st.Pages, Contacts: st.Contacts, Created: st.Created, Merged: st.Merged, Error: st.Error,
			FinishedAt: st.FinishedAt})
	})
	return st, err
}

// ownersOf fills owners with the employees of the chunk's members, when it does not hold them yet.
func (s *Service) ownersOf(ctx context.Context, q *contactdb.Queries, tenantID uuid.UUID, chunk []string, owners map[string]uuid.UUID) error {
	if len(owners) > 0 || len(chunk) == 0 {
		return nil
	}
	rows, err := q.ImportEmployees(ctx, contactdb.ImportEmployeesParams{TenantID: tenantID, Userids: chunk})
	if err != nil {
		return err
	}
	for _, r := range rows {
		owners[r.WecomUserid] = r.ID
	}
	return nil
}

// importNamespace names the timeline entries of imported adds: one per (customer, member), whichever run
// applies it.
var importNamespace = uuid.MustParse("6f1c2a0e-8d3b-4f5e-9a7c-2b4d6e8f0a1c")

// importContactTx ties one (customer, member) pair to its customer: true when the customer is new.
func (s *Service) importContactTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, cf wecomapi.ContactFollow, owner uuid.UUID,
	tags map[string]string) (bool, error) {
	c, err := customer.WeComContactTx(ctx, tx, tenantID, customer.WeComContact{ExternalUserID: cf.Contact.ExternalUserID,
		UnionID: cf.Contact.UnionID, Name: cf.Contact.Name, AvatarURL: cf.Contact.Avatar, OwnerID: owner,
		Remark: cf.Follow.Remark, Description: cf.Follow.Description})
	if err != nil {
		return false, err
	}
	if err := customer.AddTagsTx(ctx, tx, tenantID, c.ID, corpTagNames(cf.Follow, tags)); err != nil {
		return false, err
	}
	at := s.cfg.Now()
	if cf.Follow.CreateTime > 0 {
		at = time.Unix(cf.Follow.CreateTime, 0)
	}
	id := uuid.NewSHA1(importNamespace, []byte(tenantID.String()+"/"+cf.Contact.ExternalUserID+"/"+cf.Follow.UserID))
	if _, err := customer.RecordWeComAddedTx(ctx, tx, tenantID, id, c.ID, owner, at); err != nil {
		return false, err
	}
	if _, err := s.creditChannelTx(ctx, tx, tenantID, cf.Follow.State, c.ID, owner); err != nil {
		return false, err
	}
	return c.New, nil
}

func ptr[T any](v T) *T { return &v }
