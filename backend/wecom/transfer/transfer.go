// Package transfer is the WeCom side of handovers (issue 16, point 10): when a handover moves customers who
// are WeCom external contacts of the departing employee, WeCom is asked to move them to their new owners'
// WeCom accounts, and what WeCom reports is kept per customer.
//
// The handover records what to ask inside its own transaction (Record, a handover.After) and queues one
// job per handover. The job asks WeCom (externalcontact/transfer_customer while the member
// is on the job, which tells the customer and moves them after 24 hours unless they refuse;
// resigned/transfer_customer once they left, at once), 100 customers a call, and then polls
// transfer_result until no transfer is waiting, snoozing between polls. Ownership here moved with the
// handover already; a customer who refuses, or a takeover member at WeCom's limit, stays with the old
// member in WeCom, which the handover's transfer list shows. When the member has resigned, WeCom may also
// hold contacts of theirs that were never customers here (get_unassigned_list): a handover of everything
// adopts them as customers of its successors and transfers them with the rest.
package transfer

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/handover"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/wecom"
	"github.com/salesapp/scrm/backend/wecom/transfer/internal/transferdb"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Status is how one customer's transfer stands.
type Status string

// The statuses (migration 029).
const (
	Pending  Status = "pending"
	Waiting  Status = "waiting"
	Done     Status = "done"
	Refused  Status = "refused"
	Limit    Status = "limit"
	Failed   Status = "failed"
	NoRecord Status = "none"
)

// statusOf maps transfer_result's status.
var statusOf = map[wecomapi.TransferStatus]Status{
	wecomapi.TransferDone: Done, wecomapi.TransferWaiting: Waiting, wecomapi.TransferRefused: Refused,
	wecomapi.TransferLimitReached: Limit, wecomapi.TransferNone: NoRecord,
}

// Transfer is one customer's transfer.
type Transfer struct {
	CustomerID     uuid.UUID
	ExternalUserID string
	HandoverUserID string
	TakeoverUserID string
	Resigned       bool
	Status         Status
	// ErrCode is WeCom's refusal of the request (Failed).
	ErrCode     int
	RequestedAt time.Time
	// TakeoverAt is when WeCom moved the customer, or will while waiting.
	TakeoverAt time.Time
}

// Defaults of Config.
const (
	DefaultPollEvery = 30 * time.Minute
	// DefaultPollFor covers WeCom's 24 hours and a margin; waiting transfers are left as they are after it.
	DefaultPollFor = 72 * time.Hour
)

// Config is what the service needs.
type Config struct {
	DB    *platform.DB
	WeCom *wecom.Service
	// PollEvery is how long the job sleeps between reads of transfer_result; PollFor how long after the
	// handover it keeps reading. Zero: the defaults.
	PollEvery, PollFor time.Duration
	// Log takes warnings (nil: none).
	Log *slog.Logger
}

// Service asks WeCom to transfer handed-over customers and follows the outcome.
type Service struct{ cfg Config }

// NewService builds the service.
func NewService(cfg Config) *Service {
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = DefaultPollEvery
	}
	if cfg.PollFor <= 0 {
		cfg.PollFor = DefaultPollFor
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// Record is the handover.After of the WeCom bridge: inside the handover's transaction it records a
// transfer for each moved customer who is a WeCom external contact (when both members have WeCom userids
// and the tenant has WeCom set up) and queues, through queue, the job that asks WeCom (Service's worker).
// It needs no WeCom client, so the accounts built before the bridge (disabling an employee with a
// successor) use it too.
func Record(queue jobs.Inserter) handover.After {
	return func(ctx context.Context, tx pgx.Tx, h handover.Handover, moved map[uuid.UUID]uuid.UUID) error {
		ids := make([]uuid.UUID, 0, len(moved))
		owners := make([]uuid.UUID, 0, len(moved))
		for c, o := range moved {
			ids = append(ids, c)
			owners = append(owners, o)
		}
		q := transferdb.New(tx)
		n, err := q.RecordTransfers(ctx, transferdb.RecordTransfersParams{TenantID: h.TenantID, HandoverID: h.ID,
			CustomerIds: ids, OwnerIds: owners, FromID: h.FromID})
		if err != nil {
			return err
		}
		if n == 0 {
			// Nothing to ask about here: still a job when WeCom may hold contacts of the member we do not know.
			ad, err := q.AdoptionOf(ctx, transferdb.AdoptionOfParams{TenantID: h.TenantID, HandoverID: h.ID})
			if err != nil || !ad.Whole || !ad.Configured || ad.FromUserid == "" {
				return err
			}
		}
		return queue.InsertTx(ctx, tx, Args{TenantID: h.TenantID, HandoverID: h.ID, At: h.At}, nil)
	}
}

// Args is the job of one handover's transfers.
type Args struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	HandoverID uuid.UUID `json:"handover_id"`
	// At is when the handover happened (the polls stop PollFor after it).
	At time.Time `json:"at"`
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return "wecom_transfer" }

// InsertOpts puts the job on the WeCom queue.
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueWeCom} }

// Worker runs Args.
type Worker struct {
	river.WorkerDefaults[Args]
	s *Service
}

// Workers registers the job's worker.
func (s *Service) Workers(w *river.Workers) { river.AddWorker(w, &Worker{s: s}) }

// Work asks WeCom for the pending transfers, reads how the waiting ones stand, and snoozes while some
// still wait (until PollFor after the handover).
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	a := job.Args
	client, err := w.s.cfg.WeCom.Client(ctx, a.TenantID, wecom.AppContact)
	if k := platform.KindOf(err); k == platform.KindNotFound || k == platform.KindFailedPrecondition {
		return river.JobCancel(err) // WeCom was disconnected since: nothing to ask
	}
	if err != nil {
		return wecom.CancelIfNotInPlan(err) // the plan lost the bridge since: the transfers' records stay as they stood
	}
	if err := w.s.adopt(ctx, client, a); err != nil {
		return err
	}
	if err := w.s.request(ctx, client, a); err != nil {
		return err
	}
	waiting, err := w.s.poll(ctx, client, a)
	if err != nil {
		return err
	}
	if waiting && time.Since(a.At) < w.s.cfg.PollFor {
		return river.JobSnooze(w.s.cfg.PollEvery)
	}
	return nil
}

// Timeout bounds one run: a handover of 20,000 contacts is 200 calls.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return 10 * time.Minute }

// adopt makes customers of the departing member's WeCom contacts that only WeCom knows, and records their
// transfers with the handover's (get_unassigned_list: the contacts of members who resigned, not yet given to
// anyone). Each new customer is dealt to the handover's successors with WeCom in turn, named and noted as
// WeCom has them; those WeCom no longer lists as contacts are left. Only a handover of everything adopts
// (one of chosen stages or tags moved only those). A retried job adopts nothing twice: an adopted contact
// is a customer here from then on, made in the transaction that records its transfer.
func (s *Service) adopt(ctx context.Context, client *wecomapi.Client, a Args) error {
	var ad transferdb.AdoptionOfRow
	var successors []uuid.UUID
	err := s.cfg.DB.InTenantSnapshot(ctx, a.TenantID, func(tx pgx.Tx) error {
		q := transferdb.New(tx)
		var err error
		if ad, err = q.AdoptionOf(ctx, transferdb.AdoptionOfParams{TenantID: a.TenantID, HandoverID: a.HandoverID}); err != nil {
			return err
		}
		successors, err = q.SuccessorsWithWeCom(ctx, transferdb.SuccessorsWithWeComParams{TenantID: a.TenantID, HandoverID: a.HandoverID})
		return err
	})
	if err != nil || !ad.Whole || ad.FromUserid == "" || len(successors) == 0 {
		return err
	}
	turn := 0
	for cursor := ""; ; {
		page, err := client.UnassignedContacts(ctx, cursor, wecomapi.MaxUnassignedPageSize)
		if wecomapi.IsPermission(err) {
			s.cfg.Log.WarnContext(ctx, "wecom contacts of a resigned member not adopted: get_unassigned_list refused", "tenant_id", a.TenantID, "error", err)
			return nil
		}
		if err != nil {
			return err
		}
		var contacts []customer.WeComContact
		for _, u := range page.Contacts {
			if u.HandoverUserID != ad.FromUserid {
				continue
			}
			c, ok, err := s.unknownContact(ctx, client, a.TenantID, ad.FromUserid, u.ExternalUserID)
			if err != nil {
				return err
			}
			if ok {
				c.OwnerID = successors[turn%len(successors)]
				turn++
				contacts = append(contacts, c)
			}
		}
		if len(contacts) > 0 {
			if err := s.cfg.DB.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
				var ids, owners []uuid.UUID
				for _, c := range contacts {
					got, err := customer.WeComContactTx(ctx, tx, a.TenantID, c)
					if err != nil {
						return err
					}
					// (A unionid may tie the contact to a customer someone here owns: WeCom moves it to them.)
					owner := got.OwnerID
					if owner == uuid.Nil {
						owner = c.OwnerID
					}
					ids, owners = append(ids, got.ID), append(owners, owner)
				}
				_, err := transferdb.New(tx).RecordTransfers(ctx, transferdb.RecordTransfersParams{TenantID: a.TenantID,
					HandoverID: a.HandoverID, CustomerIds: ids, OwnerIds: owners, FromID: ad.FromID})
				return err
			}); err != nil {
				return err
			}
		}
		if page.IsLast || page.NextCursor == "" || page.NextCursor == cursor {
			return nil
		}
		cursor = page.NextCursor
	}
}

// unknownContact reads an unassigned contact from WeCom when no customer here has their external userid:
// the contact as the departing member noted them, and true; false for one known here or no longer a contact.
func (s *Service) unknownContact(ctx context.Context, client *wecomapi.Client, tenantID uuid.UUID, fromUserID, extID string) (customer.WeComContact, bool, error) {
	var known uuid.UUID
	if err := s.cfg.DB.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		known, err = customer.CustomerByExternalUserIDTx(ctx, tx, tenantID, extID)
		return err
	}); err != nil || known != uuid.Nil {
		return customer.WeComContact{}, false, err
	}
	d, err := client.ExternalContact(ctx, extID, "")
	if platform.KindOf(err) == platform.KindNotFound {
		return customer.WeComContact{}, false, nil
	}
	if err != nil {
		return customer.WeComContact{}, false, err
	}
	c := customer.WeComContact{ExternalUserID: extID, UnionID: d.Contact.UnionID, Name: d.Contact.Name, AvatarURL: d.Contact.Avatar}
	for _, f := range d.FollowUsers {
		if f.UserID == fromUserID {
			c.Remark, c.Description = f.Remark, f.Description
		}
	}
	return c, true, nil
}

// request asks WeCom to move the pending customers, 100 a call per (member, new member), and records each
// answer as it comes, so a retried job asks only for what is still pending.
func (s *Service) request(ctx context.Context, client *wecomapi.Client, a Args) error {
	var rows []transferdb.PendingTransfersRow
	err := s.cfg.DB.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		var err error
		rows, err = transferdb.New(tx).PendingTransfers(ctx, transferdb.PendingTransfersParams{TenantID: a.TenantID, HandoverID: a.HandoverID})
		return err
	})
	if err != nil {
		return err
	}
	left := map[string]bool{}
	for _, r := range rows {
		if _, ok := left[r.HandoverUserid]; !ok {
			left[r.HandoverUserid] = s.hasLeft(ctx, a.TenantID, r.HandoverUserid, r.Resigned)
		}
	}
	for len(rows) > 0 {
		n := 1
		for n < len(rows) && n < wecomapi.MaxTransferCustomers && rows[n].HandoverUserid == rows[0].HandoverUserid &&
			rows[n].TakeoverUserid == rows[0].TakeoverUserid {
			n++
		}
		chunk := rows[:n]
		rows = rows[n:]
		t := wecomapi.Transfer{HandoverUserID: chunk[0].HandoverUserid, TakeoverUserID: chunk[0].TakeoverUserid}
		for _, r := range chunk {
			t.ExternalUserIDs = append(t.ExternalUserIDs, r.ExternalUserid)
		}
		resigned := left[t.HandoverUserID]
		var out []wecomapi.TransferOutcome
		if resigned {
			out, err = client.TransferResignedCustomers(ctx, t)
		} else {
			out, err = client.TransferCustomers(ctx, t)
		}
		codes := map[string]int{}
		if refusal, ok := refused(err); ok {
			// WeCom (or our check of the request) refused the whole call: asking again would not help.
			for _, id := range t.ExternalUserIDs {
				codes[id] = refusal
			}
		} else if err != nil {
			return err
		} else {
			for _, id := range t.ExternalUserIDs {
				codes[id] = -1 // not in WeCom's answer
			}
			for _, o := range out {
				codes[o.ExternalUserID] = o.ErrCode
			}
		}
		p := transferdb.MarkRequestedParams{Resigned: resigned, Now: time.Now(), TenantID: a.TenantID, HandoverID: a.HandoverID,
			HandoverUserid: t.HandoverUserID, TakeoverUserid: t.TakeoverUserID}
		for id, code := range codes {
			p.ExternalUserids = append(p.ExternalUserids, id)
			p.Errcodes = append(p.Errcodes, int32(code))
		}
		if err := s.cfg.DB.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
			return transferdb.New(tx).MarkRequested(ctx, p)
		}); err != nil {
			return err
		}
	}
	return nil
}

// hasLeft says whether the member has left the corp, which decides between WeCom's two transfers: WeCom's
// directory says (gone, resigned or disabled there); where the app may not read it, whether they are
// disabled here (fallback) does. An employee an admin disabled here who is still a member in WeCom is on
// the job for WeCom.
func (s *Service) hasLeft(ctx context.Context, tenantID uuid.UUID, userID string, fallback bool) bool {
	agent, err := s.cfg.WeCom.Client(ctx, tenantID, wecom.AppAgent)
	if err != nil {
		return fallback
	}
	u, err := agent.User(ctx, userID)
	switch {
	case platform.KindOf(err) == platform.KindNotFound:
		return true
	case err != nil:
		return fallback
	}
	return u.Status == wecomapi.UserResigned || u.Status == wecomapi.UserDisabled
}

// refused says whether err is a refusal of the request itself (WeCom's errcode, or -1 for a request our
// client would not send), rather than a failure worth retrying.
func refused(err error) (int, bool) {
	var we *wecomapi.Error
	switch {
	case err == nil:
		return 0, false
	case errors.As(err, &we) && !wecomapi.IsRateLimited(err) && !wecomapi.IsTokenInvalid(err) && we.Code > 0:
		return we.Code, true
	case platform.KindOf(err) == platform.KindInvalid:
		return -1, true
	}
	return 0, false
}

// poll reads transfer_result for each (member, new member) with waiting transfers and records what WeCom
// says; it reports whether some still wait.
func (s *Service) poll(ctx context.Context, client *wecomapi.Client, a Args) (bool, error) {
	var pairs []transferdb.WaitingPairsRow
	err := s.cfg.DB.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		var err error
		pairs, err = transferdb.New(tx).WaitingPairs(ctx, transferdb.WaitingPairsParams{TenantID: a.TenantID, HandoverID: a.HandoverID})
		return err
	})
	if err != nil {
		return false, err
	}
	waiting := false
	for _, pair := range pairs {
		p := transferdb.SetResultsParams{Now: time.Now(), TenantID: a.TenantID, HandoverID: a.HandoverID,
			HandoverUserid: pair.HandoverUserid, TakeoverUserid: pair.TakeoverUserid}
		cursor := ""
		for {
			var page wecomapi.TransferPage
			if pair.Resigned {
				page, err = client.ResignedTransferResult(ctx, pair.HandoverUserid, pair.TakeoverUserid, cursor)
			} else {
				page, err = client.TransferResult(ctx, pair.HandoverUserid, pair.TakeoverUserid, cursor)
			}
			if err != nil {
				return false, err
			}
			for _, c := range page.Customers {
				st, ok := statusOf[c.Status]
				if !ok {
					continue
				}
				waiting = waiting || st == Waiting
				p.ExternalUserids = append(p.ExternalUserids, c.ExternalUserID)
				p.Statuses = append(p.Statuses, string(st))
				p.TakeoverAts = append(p.TakeoverAts, time.Unix(c.TakeoverTime, 0))
			}
			if page.NextCursor == "" || page.NextCursor == cursor {
				break
			}
			cursor = page.NextCursor
		}
		if err := s.cfg.DB.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
			return transferdb.New(tx).SetResults(ctx, p)
		}); err != nil {
			return false, err
		}
	}
	return waiting, nil
}

// MaxListed bounds List.
const MaxListed = 1000

// List returns the transfers of a handover (MaxListed at most), by customer, and how many there are in
// each status. Admin only.
func (s *Service) List(ctx context.Context, p authn.Principal, handoverID uuid.UUID) ([]Transfer, map[Status]int, error) {
	if p.Role != authn.RoleAdmin {
		return nil, nil, platform.PermissionDenied("only an admin sees the WeCom transfers of a handover")
	}
	var out []Transfer
	counts := map[Status]int{}
	// One snapshot: the counts and the rows agree while the poller moves transfers on.
	err := s.cfg.DB.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := transferdb.New(tx)
		byStatus, err := q.CountTransfers(ctx, transferdb.CountTransfersParams{TenantID: p.TenantID, HandoverID: handoverID})
		if err != nil {
			return err
		}
		for _, c := range byStatus {
			counts[Status(c.Status)] = int(c.N)
		}
		rows, err := q.ListTransfers(ctx, transferdb.ListTransfersParams{TenantID: p.TenantID, HandoverID: handoverID, Max: MaxListed})
		for _, r := range rows {
			t := Transfer{CustomerID: r.CustomerID, ExternalUserID: r.ExternalUserid, HandoverUserID: r.HandoverUserid,
				TakeoverUserID: r.TakeoverUserid, Resigned: r.Resigned, Status: Status(r.Status), ErrCode: int(r.Errcode)}
			if r.RequestedAt != nil {
				t.RequestedAt = *r.RequestedAt
			}
			if r.TakeoverAt != nil {
				t.TakeoverAt = *r.TakeoverAt
			}
			out = append(out, t)
		}
		return err
	})
	return out, counts, err
}
