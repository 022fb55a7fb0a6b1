// Package pool keeps lead pools (公海): several per tenant, by team or region, that salespeople claim
// leads from. A lead is a customer nobody owns; pool_leads says which pool it waits in, and an unowned
// customer that never entered a pool (a new visitor under the `pool` owner rule) waits in the tenant's
// default pool. Leads enter by that rule or by a salesperson releasing a customer, with a reason.
// Salespeople see the leads of the pools they may claim from with contact details masked, and claim them
// within a daily cap and a maximum held per pool. Ownership itself is the customer domain's: claims and
// releases go through customer.ClaimTx and customer.ReleaseTx, which also write the sync rows (a claimed
// lead arrives on the claimer's devices, a released one is a tombstone on the old owner's).
package pool

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/pool/internal/pooldb"
	"github.com/salesapp/scrm/push/alert"
)

// Pool is one lead pool and its rules.
type Pool struct {
	ID   uuid.UUID
	Name string
	// Region is free text ("East China"), for admins who split pools by region.
	Region string
	// Default says new unassigned customers land here.
	Default bool
	// DailyClaimCap and MaxHeld bound each salesperson in this pool: claims per day (the tenant's time
	// zone) and leads claimed from it that they still hold.
	DailyClaimCap, MaxHeld int
	// TeamIDs are the teams whose members may claim; empty: everyone in the tenant.
	TeamIDs []uuid.UUID
	Recycle Recycle
	// OfferHotLeads: a lead waiting here that reads again is offered to the salespeople who may claim it.
	OfferHotLeads bool
	CreatedAt     time.Time
}

// Recycle are a pool's recycle rules, in days (0: off).
type Recycle struct {
	// NoFollowUpDays: a held lead with no follow-up note for this long goes back to the pool.
	NoFollowUpDays int
	// NoProgressDays: a held lead whose stage has not changed for this long goes back to the pool.
	NoProgressDays int
	// CooldownDays: a recycled lead's last holder may claim it again only after this long.
	CooldownDays int
}

// firstCheck is when a claim made at may first need a warning (nil: the rules never recycle).
func (r Recycle) firstCheck(at time.Time) *time.Time {
	days := 0
	for _, d := range []int{r.NoFollowUpDays, r.NoProgressDays} {
		if d > 0 && (days == 0 || d < days) {
			days = d
		}
	}
	if days == 0 {
		return nil
	}
	t := at.Add(time.Duration(days)*24*time.Hour - warnAhead)
	return &t
}

// Settings are what an admin sets on a pool.
type Settings struct {
	Name, Region           string
	Default                bool
	DailyClaimCap, MaxHeld int
	TeamIDs                []uuid.UUID
	Recycle                Recycle
	// OfferHotLeads: a lead waiting in the pool that reads again is offered to the salespeople who may
	// claim it (pool_lead_offer), besides being told to its managers; the first to claim it has it.
	OfferHotLeads bool
}

// Reason is how a lead came into its pool.
type Reason string

// The reasons.
const (
	// ReasonOwnerRule: a new visitor under the tenant's `pool` owner rule (the default pool).
	ReasonOwnerRule Reason = "owner_rule"
	// ReasonReleased: a salesperson gave the customer up, with a note saying why.
	ReasonReleased Reason = "released"
	// ReasonRecycled: a recycle rule took it back from a salesperson who neglected it.
	ReasonRecycled Reason = "recycled"
	// ReasonImported: a CSV import.
	ReasonImported Reason = "imported"
)

// Lead is a customer waiting in a pool, as a salesperson who has not claimed it sees them: the phone is
// masked and no WeChat identity is shown.
type Lead struct {
	CustomerID  uuid.UUID
	DisplayName string
	// MaskedPhone is like 138****1234 ("" when unknown).
	MaskedPhone   string
	Stage         customer.Stage
	SourceChannel string
	Tags          []string
	IntentScore   int
	LastActiveAt  time.Time
	EnteredAt     time.Time
	Reason        Reason
	// Note is why it was released (released leads only).
	Note string
}

// Service holds the pool rules.
type Service struct {
	db     *platform.DB
	notify alert.Notifier
	// now is the clock (tests move it): the daily cap counts claims since the start of now's day, the
	// recycle rules count days to now.
	now func() time.Time
}

// NewService builds the service. jobs enqueues the pushes of pool alerts in their transaction (nil:
// none); wake is told after commit which alert streams grew (nil: nobody); now is the clock (nil:
// time.Now).
func NewService(db *platform.DB, jobs alert.Jobs, wake func([]alert.Key), now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, notify: alert.Notifier{Jobs: jobs, Wake: wake}, now: now}
}

var errPoolNotFound = platform.NotFound("pool")

func poolOf(r pooldb.Pool) Pool {
	return Pool{ID: r.ID, Name: r.Name, Region: r.Region, Default: r.IsDefault, DailyClaimCap: int(r.DailyClaimCap),
		MaxHeld: int(r.MaxHeld), TeamIDs: r.TeamIds, CreatedAt: r.CreatedAt, Recycle: Recycle{NoFollowUpDays: int(r.RecycleFollowUpDays),
			NoProgressDays: int(r.RecycleProgressDays), CooldownDays: int(r.CooldownDays)}, OfferHotLeads: r.OfferHotLeads}
}

// mayClaim reports whether the caller may claim from (and see the leads of) the pool. Admins see every pool
// and may claim from any; others the pools open to everyone, to their team or (managers) to a team they lead.
func (p Pool) mayClaim(by authn.Principal) bool {
	return by.Role == authn.RoleAdmin || len(p.TeamIDs) == 0 || (by.TeamID != uuid.Nil && slices.Contains(p.TeamIDs, by.TeamID)) ||
		slices.ContainsFunc(p.TeamIDs, by.LeadsTeam)
}

func (s Settings) check() (Settings, error) {
	s.Name, s.Region = strings.TrimSpace(s.Name), strings.TrimSpace(s.Region)
	switch {
	case s.Name == "":
		return s, platform.Invalid("name", "must not be blank")
	case s.DailyClaimCap < 1 || s.DailyClaimCap > 10000:
		return s, platform.Invalid("daily_claim_cap", "between 1 and 10000")
	case s.MaxHeld < 1 || s.MaxHeld > 100000:
		return s, platform.Invalid("max_held", "between 1 and 100000")
	case s.Recycle.NoFollowUpDays < 0 || s.Recycle.NoFollowUpDays > 365:
		return s, platform.Invalid("recycle_no_follow_up_days", "between 0 (off) and 365")
	case s.Recycle.NoProgressDays < 0 || s.Recycle.NoProgressDays > 365:
		return s, platform.Invalid("recycle_no_progress_days", "between 0 (off) and 365")
	case s.Recycle.CooldownDays < 0 || s.Recycle.CooldownDays > 365:
		return s, platform.Invalid("cooldown_days", "between 0 (off) and 365")
	}
	if s.TeamIDs == nil {
		s.TeamIDs = []uuid.UUID{}
	}
	slices.SortFunc(s.TeamIDs, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	s.TeamIDs = slices.Compact(s.TeamIDs)
	return s, nil
}

func requireAdmin(p authn.Principal) error {
	if p.Role != authn.RoleAdmin {
		return platform.PermissionDenied("only admins set up lead pools")
	}
	return nil
}

// checkTeams refuses team ids that are not the tenant's.
func checkTeams(ctx context.Context, q *pooldb.Queries, tenantID uuid.UUID, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	n, err := q.CountTeams(ctx, pooldb.CountTeamsParams{TenantID: tenantID, Ids: ids})
	if err != nil {
		return err
	}
	if int(n) != len(ids) {
		return platform.Invalid("team_ids", "no team with one of these ids")
	}
	return nil
}

// Create makes a pool (admins). The tenant's first pool is its default whatever Default says: unassigned
// customers always have somewhere to wait.
func (s *Service) Create(ctx context.Context, p authn.Principal, in Settings) (Pool, error) {
	if err := requireAdmin(p); err != nil {
		return Pool{}, err
	}
	in, err := in.check()
	if err != nil {
		return Pool{}, err
	}
	var out Pool
	err = s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := pooldb.New(tx)
		if err := checkTeams(ctx, q, p.TenantID, in.TeamIDs); err != nil {
			return err
		}
		hasPools, err := q.HasPools(ctx, p.TenantID)
		if err != nil {
			return err
		}
		id := uuid.Must(uuid.NewV7())
		in.Default = in.Default || !hasPools
		if in.Default {
			if err := q.ClearDefault(ctx, pooldb.ClearDefaultParams{TenantID: p.TenantID, ID: id}); err != nil {
				return err
			}
		}
		row, err := q.InsertPool(ctx, pooldb.InsertPoolParams{TenantID: p.TenantID, ID: id, Name: in.Name, Region: in.Region,
			IsDefault: in.Default, DailyClaimCap: int32(in.DailyClaimCap), MaxHeld: int32(in.MaxHeld), TeamIds: in.TeamIDs, CreatedBy: p.EmployeeID,
			RecycleFollowUpDays: int32(in.Recycle.NoFollowUpDays), RecycleProgressDays: int32(in.Recycle.NoProgressDays), CooldownDays: int32(in.Recycle.CooldownDays),
			OfferHotLeads: in.OfferHotLeads})
		if platform.IsUniqueViolation(err, "pools_name_key") {
			return platform.AlreadyExists("a pool with this name exists")
		}
		if err != nil {
			return err
		}
		out = poolOf(row)
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.PoolCreate, TargetKind: audit.TargetPool, TargetID: id, After: in})
	})
	return out, err
}

// Deleted is what deleting a pool moved.
type Deleted struct {
	// MovedLeads counts the waiting leads moved, into MovedTo.
	MovedLeads int
	MovedTo    uuid.UUID
}

// Delete deletes a pool (admins): its waiting leads, and the claims made from it (their holders keep them,
// judged by the other pool's rules at the next recycle run), move to another pool: to, or the default when
// to is uuid.Nil. The default pool is not deleted: another must be made the default first.
func (s *Service) Delete(ctx context.Context, p authn.Principal, id, to uuid.UUID) (Deleted, error) {
	if err := requireAdmin(p); err != nil {
		return Deleted{}, err
	}
	if to == id {
		return Deleted{}, platform.Invalid("move_to_pool_id", "names the pool being deleted")
	}
	var out Deleted
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := pooldb.New(tx)
		gone, err := q.GetPool(ctx, pooldb.GetPoolParams{TenantID: p.TenantID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return errPoolNotFound
		}
		if err != nil {
			return err
		}
		if to != uuid.Nil {
			if _, err := q.GetPool(ctx, pooldb.GetPoolParams{TenantID: p.TenantID, ID: to}); errors.Is(err, pgx.ErrNoRows) {
				return platform.NotFound("pool to move the leads to")
			} else if err != nil {
				return err
			}
		}
		if gone.IsDefault {
			return platform.FailedPrecondition("this is the default pool; make another pool the default before deleting it")
		}
		if to == uuid.Nil {
			if to, err = q.DefaultPool(ctx, p.TenantID); err != nil {
				return err // (a tenant with pools has a default: this one is not it)
			}
		}
		n, err := q.MovePoolLeads(ctx, pooldb.MovePoolLeadsParams{TenantID: p.TenantID, PoolID: id, ToPoolID: to})
		if err != nil {
			return err
		}
		if err := q.MovePoolClaims(ctx, pooldb.MovePoolClaimsParams{TenantID: p.TenantID, PoolID: id, ToPoolID: to, At: s.now()}); err != nil {
			return err
		}
		if err := q.DeletePool(ctx, pooldb.DeletePoolParams{TenantID: p.TenantID, ID: id}); err != nil {
			return err
		}
		out = Deleted{MovedLeads: int(n), MovedTo: to}
		b := poolOf(gone)
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.PoolDelete, TargetKind: audit.TargetPool, TargetID: id,
			Before: map[string]any{"name": b.Name, "region": b.Region}, After: map[string]any{"leads_moved": n, "moved_to_pool_id": to}})
	})
	return out, err
}

// Update changes a pool's settings (admins). The default pool stays the default until another pool is
// made the default: a tenant with pools always has one.
func (s *Service) Update(ctx context.Context, p authn.Principal, id uuid.UUID, in Settings) (Pool, error) {
	if err := requireAdmin(p); err != nil {
		return Pool{}, err
	}
	in, err := in.check()
	if err != nil {
		return Pool{}, err
	}
	var out Pool
	err = s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := pooldb.New(tx)
		before, err := q.GetPool(ctx, pooldb.GetPoolParams{TenantID: p.TenantID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return errPoolNotFound
		}
		if err != nil {
			return err
		}
		if err := checkTeams(ctx, q, p.TenantID, in.TeamIDs); err != nil {
			return err
		}
		if before.IsDefault && !in.Default {
			return platform.FailedPrecondition("this is the default pool; make another pool the default instead")
		}
		if in.Default {
			if err := q.ClearDefault(ctx, pooldb.ClearDefaultParams{TenantID: p.TenantID, ID: id}); err != nil {
				return err
			}
		}
		row, err := q.UpdatePool(ctx, pooldb.UpdatePoolParams{TenantID: p.TenantID, ID: id, Name: in.Name, Region: in.Region,
			IsDefault: in.Default, DailyClaimCap: int32(in.DailyClaimCap), MaxHeld: int32(in.MaxHeld), TeamIds: in.TeamIDs,
			RecycleFollowUpDays: int32(in.Recycle.NoFollowUpDays), RecycleProgressDays: int32(in.Recycle.NoProgressDays), CooldownDays: int32(in.Recycle.CooldownDays),
			OfferHotLeads: in.OfferHotLeads})
		if platform.IsUniqueViolation(err, "pools_name_key") {
			return platform.AlreadyExists("a pool with this name exists")
		}
		if err != nil {
			return err
		}
		out = poolOf(row)
		b := poolOf(before)
		if b.Recycle.NoFollowUpDays != in.Recycle.NoFollowUpDays || b.Recycle.NoProgressDays != in.Recycle.NoProgressDays {
			// The held leads are judged by the new rules at the next recycle run.
			if err := q.RecheckPool(ctx, pooldb.RecheckPoolParams{TenantID: p.TenantID, PoolID: id, At: s.now()}); err != nil {
				return err
			}
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.PoolUpdate, TargetKind: audit.TargetPool, TargetID: id,
			Before: Settings{Name: b.Name, Region: b.Region, Default: b.Default, DailyClaimCap: b.DailyClaimCap, MaxHeld: b.MaxHeld, TeamIDs: b.TeamIDs,
				Recycle: b.Recycle, OfferHotLeads: b.OfferHotLeads},
			After: in})
	})
	return out, err
}

// List returns the pools the caller may claim from (admins: all of them), the default first.
func (s *Service) List(ctx context.Context, p authn.Principal) ([]Pool, error) {
	var out []Pool
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := pooldb.New(tx).ListPools(ctx, p.TenantID)
		for _, r := range rows {
			if pl := poolOf(r); pl.mayClaim(p) {
				out = append(out, pl)
			}
		}
		return err
	})
	return out, err
}

// visible reads a pool the caller may claim from; one they may not is NotFound (its existence is not
// theirs to know).
func visible(ctx context.Context, q *pooldb.Queries, p authn.Principal, id uuid.UUID) (Pool, error) {
	row, err := q.GetPool(ctx, pooldb.GetPoolParams{TenantID: p.TenantID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Pool{}, errPoolNotFound
	}
	if err != nil {
		return Pool{}, err
	}
	pl := poolOf(row)
	if !pl.mayClaim(p) {
		return Pool{}, errPoolNotFound
	}
	return pl, nil
}

// Leads pages through a pool's leads, newest in the pool first, masked.
func (s *Service) Leads(ctx context.Context, p authn.Principal, poolID uuid.UUID, size int, token string) ([]Lead, string, error) {
	if size <= 0 || size > 100 {
		size = 30
	}
	var cur cursor
	if token != "" {
		var err error
		if cur, err = decodeCursor(token); err != nil {
			return nil, "", platform.Invalid("page_token", "not a token this server issued")
		}
	}
	var out []Lead
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := pooldb.New(tx)
		pl, err := visible(ctx, q, p, poolID)
		if err != nil {
			return err
		}
		rows, err := q.ListLeads(ctx, pooldb.ListLeadsParams{TenantID: p.TenantID, PoolID: poolID, IsDefault: pl.Default,
			HasCursor: token != "", AfterTime: cur.at, AfterID: cur.id, MaxRows: int32(size + 1)})
		for _, r := range rows {
			out = append(out, Lead{CustomerID: r.CustomerID, DisplayName: r.DisplayName, MaskedPhone: maskPhone(r.Phone),
				Stage: customer.Stage(r.Stage), SourceChannel: r.SourceChannel, Tags: r.Tags, IntentScore: int(r.IntentScore),
				LastActiveAt: r.LastActiveAt, EnteredAt: r.EnteredAt, Reason: Reason(r.Reason), Note: r.Note})
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[len(out)-1]
		next = encodeCursor(cursor{at: last.EnteredAt, id: last.CustomerID})
	}
	return out, next, nil
}

func maskPhone(phone string) string {
	if phone == "" {
		return ""
	}
	return customer.MaskPhone(phone)
}

// Claim gives the caller a lead of a pool they may claim from. Within the pool's caps: more claims today
// than the daily cap is ResourceExhausted with the time the day ends; holding max_held leads from it is
// ResourceExhausted until one is released or closed. A lead someone else claimed first (also at the same
// moment) is FailedPrecondition (customer.ErrClaimedMeanwhile).
func (s *Service) Claim(ctx context.Context, p authn.Principal, poolID, customerID uuid.UUID) error {
	return s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		return s.ClaimTx(ctx, tx, p, poolID, customerID)
	})
}

// ClaimTx is Claim inside the caller's transaction.
func (s *Service) ClaimTx(ctx context.Context, tx pgx.Tx, p authn.Principal, poolID, customerID uuid.UUID) error {
	q := pooldb.New(tx)
	pl, err := visible(ctx, q, p, poolID)
	if err != nil {
		return err
	}
	// One claimer's claims from one pool run one at a time, so two at once cannot both pass the caps.
	if err := q.LockClaimer(ctx, "pool_claim:"+p.EmployeeID.String()+":"+poolID.String()); err != nil {
		return err
	}
	now := s.now()
	c, err := q.ClaimChecks(ctx, pooldb.ClaimChecksParams{TenantID: p.TenantID, CustomerID: customerID, EmployeeID: p.EmployeeID,
		PoolID: poolID, Now: now})
	if err != nil {
		return err
	}
	if (c.LeadPool == uuid.Nil && !pl.Default) || (c.LeadPool != uuid.Nil && c.LeadPool != poolID) {
		return platform.NotFound("lead in this pool")
	}
	if now.Before(c.CooldownUntil) {
		return platform.FailedPrecondition(fmt.Sprintf("this lead was taken back from you; you may claim it again from %s",
			c.CooldownUntil.UTC().Format(time.RFC3339)))
	}
	if int(c.Today) >= pl.DailyClaimCap {
		_, end := day(now, c.TimeZone)
		return platform.RetryLater(fmt.Sprintf("you have claimed %d leads from this pool today, its daily cap; claim again tomorrow", c.Today),
			end.Sub(now))
	}
	if int(c.Held) >= pl.MaxHeld {
		return platform.ResourceExhausted(fmt.Sprintf("you hold %d leads from this pool, its maximum; release or close one before claiming another", c.Held))
	}
	if err := customer.ClaimTx(ctx, tx, p.TenantID, customerID, p.EmployeeID); err != nil {
		return err
	}
	return q.TakeLead(ctx, pooldb.TakeLeadParams{TenantID: p.TenantID, ID: uuid.Must(uuid.NewV7()), PoolID: poolID,
		CustomerID: customerID, EmployeeID: p.EmployeeID, ClaimedAt: now, NextCheckAt: pl.Recycle.firstCheck(now)})
}

// Release puts a customer the caller may see (a salesperson their own) back into a pool with a reason,
// which the next claimer reads. Any pool of the tenant may take it; the caller need not claim from it.
func (s *Service) Release(ctx context.Context, p authn.Principal, poolID, customerID uuid.UUID, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return platform.Invalid("reason", "say why the customer goes back to the pool")
	}
	return s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := pooldb.New(tx)
		pl, err := q.GetPool(ctx, pooldb.GetPoolParams{TenantID: p.TenantID, ID: poolID})
		if errors.Is(err, pgx.ErrNoRows) {
			return errPoolNotFound
		}
		if err != nil {
			return err
		}
		if _, err := customer.ReleaseTx(ctx, tx, p, customerID, "《"+pl.Name+"》 "+reason); err != nil {
			return err
		}
		if err := q.CloseClaims(ctx, pooldb.CloseClaimsParams{TenantID: p.TenantID, CustomerID: customerID}); err != nil {
			return err
		}
		return q.EnterLead(ctx, pooldb.EnterLeadParams{TenantID: p.TenantID, CustomerID: customerID, PoolID: poolID,
			Reason: string(ReasonReleased), Note: reason, ReleasedBy: uuid.NullUUID{UUID: p.EmployeeID, Valid: true}})
	})
}

// day is the start and end of now's day in the tenant's time zone (Asia/Shanghai if it is unknown).
func day(now time.Time, zone string) (time.Time, time.Time) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	t := now.In(loc)
	start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 0, 1)
}

// cursor is a page token: the last lead's entry time and id.
type cursor struct {
	at time.Time
	id uuid.UUID
}

func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.at.UnixMicro(), 10) + "|" + c.id.String()))
}

func decodeCursor(tok string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return cursor{}, err
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return cursor{}, errors.New("malformed cursor")
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return cursor{}, err
	}
	u, err := uuid.Parse(id)
	return cursor{at: time.UnixMicro(n), id: u}, err
}

// ReleaseAllTx puts every customer employeeID owns back into a pool, inside the caller's transaction: an
// admin disabling an employee chose to leave their customers to the pool. poolID uuid.Nil means the
// tenant's default pool (or, with none, the implicit one unowned customers wait in). Their open claims
// close. It returns how many customers went back.
func ReleaseAllTx(ctx context.Context, tx pgx.Tx, p authn.Principal, employeeID, poolID uuid.UUID, reason string) (int, error) {
	if err := requireAdmin(p); err != nil {
		return 0, err
	}
	q := pooldb.New(tx)
	if poolID != uuid.Nil {
		if _, err := q.GetPool(ctx, pooldb.GetPoolParams{TenantID: p.TenantID, ID: poolID}); errors.Is(err, pgx.ErrNoRows) {
			return 0, platform.Invalid("pool_id", "no pool with this id")
		} else if err != nil {
			return 0, err
		}
	} else if id, err := q.DefaultPool(ctx, p.TenantID); err == nil {
		poolID = id
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return 0, err
	}
	ids, err := customer.ReleaseOwnedTx(ctx, tx, p.TenantID, employeeID)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	if err := q.CloseClaimsOf(ctx, pooldb.CloseClaimsOfParams{TenantID: p.TenantID, CustomerIds: ids}); err != nil {
		return 0, err
	}
	if poolID != uuid.Nil {
		if err := q.EnterReleased(ctx, pooldb.EnterReleasedParams{TenantID: p.TenantID, CustomerIds: ids, PoolID: poolID, Note: reason,
			ReleasedBy: uuid.NullUUID{UUID: p.EmployeeID, Valid: true}}); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
