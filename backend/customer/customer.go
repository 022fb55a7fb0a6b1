// Package customer is the salesperson's view of the people their shares reached: lists sorted by activity,
// intent or age; a profile with identities, interests and why the intent score is what it is; the timeline
// of what they did; notes, follow-ups, stage and tags. Salespeople see their own customers, managers their
// team's, admins the tenant's.
package customer

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
	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// Sort orders a list.
type Sort int

// The orders.
const (
	SortLastActive Sort = iota
	SortIntent
	SortNewest
)

// Filter narrows a list.
type Filter struct {
	Sort                Sort
	Tag                 string
	Stage               Stage
	Channel             event.Channel
	MaterialID, OwnerID uuid.UUID
	// Unassigned lists the pool instead (admins and managers).
	Unassigned bool
	PageSize   int
	PageToken  string
}

// Service holds the customer rules.
type Service struct {
	db *platform.DB
}

// NewService builds the service.
func NewService(db *platform.DB) *Service { return &Service{db: db} }

// view is whose customers a caller may see: everyone's (admins), their teams' and their own (managers),
// their own (salespeople); admins and managers also see the pool of customers nobody owns yet.
type view struct {
	all, pool bool
	owners    []uuid.UUID
}

func scope(ctx context.Context, q *customerdb.Queries, p authn.Principal) (view, error) {
	switch p.Role {
	case authn.RoleAdmin:
		return view{all: true, pool: true}, nil
	case authn.RoleManager:
		v := view{pool: true, owners: []uuid.UUID{p.EmployeeID}}
		if len(p.Leads) > 0 {
			members, err := q.TeamMembers(ctx, customerdb.TeamMembersParams{TenantID: p.TenantID, TeamIds: p.Leads})
			if err != nil {
				return view{}, err
			}
			for _, m := range members {
				if m != p.EmployeeID { // the manager is usually a member of a team they lead
					v.owners = append(v.owners, m)
				}
			}
		}
		return v, nil
	default:
		return view{owners: []uuid.UUID{p.EmployeeID}}, nil
	}
}

// may reports whether the caller may see a customer of this owner (none: the pool).
func (v view) may(owner uuid.NullUUID) bool {
	switch {
	case !owner.Valid:
		return v.pool
	case v.all:
		return true
	}
	return slices.Contains(v.owners, owner.UUID)
}

// List pages through the customers the caller may see.
func (s *Service) List(ctx context.Context, p authn.Principal, f Filter) ([]Customer, string, error) {
	size := f.PageSize
	if size <= 0 {
		size = 30
	}
	if f.Unassigned {
		f.Sort = SortLastActive // the pool is listed by last activity only
	}
	var cur cursor
	if f.PageToken != "" {
		var err error
		if cur, err = decodeCursor(f.PageToken, f.Sort); err != nil {
			return nil, "", platform.Invalid("page_token", "not a token this server issued for this order")
		}
	}
	if f.Stage != "" && !f.Stage.Valid() {
		return nil, "", platform.Invalid("stage", "unknown stage")
	}
	var out []Customer
	// The list queries switch filters on and off with parameters; a generic plan cannot see which are
	// off and scans every customer of the tenant. A plan for the actual values uses the owner's index.
	err := s.db.InTenantTxCustomPlans(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := customerdb.New(tx)
		v, err := scope(ctx, q, p)
		if err != nil {
			return err
		}
		if f.Unassigned {
			if !v.pool {
				return platform.PermissionDenied("only admins and managers see the pool of unassigned customers")
			}
			rows, err := q.ListUnassigned(ctx, customerdb.ListUnassignedParams{TenantID: p.TenantID, HasCursor: f.PageToken != "",
				AfterTime: cur.at, AfterID: cur.id, MaxRows: int32(size + 1)})
			for _, r := range rows {
				out = append(out, customerOf(customerdb.ListByLastActiveRow(r)))
			}
			return err
		}
		owners := v.owners
		switch {
		case f.OwnerID != uuid.Nil:
			if !v.may(uuid.NullUUID{UUID: f.OwnerID, Valid: true}) {
				return platform.PermissionDenied("you may not see this salesperson's customers")
			}
			owners = []uuid.UUID{f.OwnerID}
		case v.all:
			if owners, err = q.AllEmployees(ctx, p.TenantID); err != nil {
				return err
			}
		}
		base := customerdb.ListByLastActiveParams{
			TenantID: p.TenantID, OwnerIds: owners, Tag: opt(f.Tag), Stage: opt(string(f.Stage)), Channel: opt(string(f.Channel)),
			MaterialID: uuid.NullUUID{UUID: f.MaterialID, Valid: f.MaterialID != uuid.Nil},
			HasCursor:  f.PageToken != "", AfterTime: cur.at, AfterID: cur.id, MaxRows: int32(size + 1),
		}
		switch f.Sort {
		case SortIntent:
			rows, err := q.ListByIntent(ctx, customerdb.ListByIntentParams{
				TenantID: base.TenantID, OwnerIds: base.OwnerIds, Tag: base.Tag, Stage: base.Stage,
				Channel: base.Channel, MaterialID: base.MaterialID, HasCursor: base.HasCursor, AfterScore: cur.score,
				AfterID: cur.id, MaxRows: base.MaxRows,
			})
			for _, r := range rows {
				out = append(out, customerOf(customerdb.ListByLastActiveRow(r)))
			}
			return err
		case SortNewest:
			rows, err := q.ListByNewest(ctx, customerdb.ListByNewestParams(base))
			for _, r := range rows {
				out = append(out, customerOf(customerdb.ListByLastActiveRow(r)))
			}
			return err
		default:
			rows, err := q.ListByLastActive(ctx, base)
			for _, r := range rows {
				out = append(out, customerOf(r))
			}
			return err
		}
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		next = encodeCursor(f.Sort, out[len(out)-1])
	}
	return out, next, nil
}

// Profile is everything about one customer.
type Profile struct {
	Customer
	Identities []Identity
	Interests  []Interest
	Reasons    []string
	Notes      []Note
	// Owned says the viewer owns the customer (and may see the phone number unmasked).
	Owned bool
}

var errNotFound = platform.NotFound("customer")

// load reads a customer the caller may see.
func load(ctx context.Context, q *customerdb.Queries, p authn.Principal, id uuid.UUID) (Customer, error) {
	row, err := q.GetCustomer(ctx, customerdb.GetCustomerParams{TenantID: p.TenantID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return Customer{}, errNotFound
	}
	if err != nil {
		return Customer{}, err
	}
	v, err := scope(ctx, q, p)
	if err != nil {
		return Customer{}, err
	}
	if !v.may(row.OwnerID) {
		return Customer{}, errNotFound
	}
	return customerOf(customerdb.ListByLastActiveRow(row)), nil
}

// Get returns a customer's profile.
func (s *Service) Get(ctx context.Context, p authn.Principal, id uuid.UUID) (Profile, error) {
	var pr Profile
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := customerdb.New(tx)
		c, err := load(ctx, q, p, id)
		if err != nil {
			return err
		}
		pr.Customer = c
		pr.Owned = c.OwnerID.Valid && c.OwnerID.UUID == p.EmployeeID
		ids, err := q.Identities(ctx, customerdb.IdentitiesParams{TenantID: p.TenantID, CustomerID: id})
		if err != nil {
			return err
		}
		for _, r := range ids {
			pr.Identities = append(pr.Identities, Identity(r))
		}
		interests, err := q.Interests(ctx, customerdb.InterestsParams{TenantID: p.TenantID, CustomerID: id})
		if err != nil {
			return err
		}
		for _, r := range interests {
			pr.Interests = append(pr.Interests, Interest(r))
		}
		notes, err := q.Notes(ctx, customerdb.NotesParams{TenantID: p.TenantID, CustomerID: id, MaxRows: 20})
		for _, n := range notes {
			pr.Notes = append(pr.Notes, noteOf(n))
		}
		return err
	})
	pr.Reasons = Reasons(pr.Customer, time.Now())
	return pr, err
}

// Reasons explains an intent score in the salesperson's words.
func Reasons(c Customer, now time.Time) []string {
	var out []string
	if c.Phone != "" {
		out = append(out, "left a phone number")
	}
	if c.CallClicks > 0 {
		out = append(out, fmt.Sprintf("tapped call %s", times(int(c.CallClicks))))
	}
	if c.WeChatClicks > 0 {
		out = append(out, fmt.Sprintf("tapped add-WeChat %s", times(int(c.WeChatClicks))))
	}
	if c.DwellMs >= 60_000 {
		out = append(out, "read for "+Duration(c.DwellMs))
	}
	if c.Views > 0 {
		out = append(out, fmt.Sprintf("opened your links %s", times(int(c.Views))))
	}
	if c.Forwards > 0 {
		out = append(out, fmt.Sprintf("forwarded %s", times(int(c.Forwards))))
	}
	if since := now.Sub(c.LastActiveAt); since < time.Hour {
		out = append(out, "active in the last hour")
	}
	return out
}

func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return strconv.Itoa(n) + " times"
}

// Duration says a dwell the way a salesperson reads it: "45 s", "2 min 10 s", "1 h 5 min".
func Duration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case m > 0 && sec > 0:
		return fmt.Sprintf("%d min %d s", m, sec)
	case m > 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d s", sec)
}

// Timeline pages through what a customer did, newest first.
func (s *Service) Timeline(ctx context.Context, p authn.Principal, id uuid.UUID, size int, token string) ([]Item, string, error) {
	if size <= 0 {
		size = 30
	}
	var cur cursor
	if token != "" {
		var err error
		if cur, err = decodeCursor(token, SortLastActive); err != nil {
			return nil, "", platform.Invalid("page_token", "not a token this server issued")
		}
	}
	// Independent reads, each one round trip with the tenant's setting: no transaction's BEGIN and COMMIT.
	q := customerdb.New(s.db.TenantRead(p.TenantID))
	if _, err := load(ctx, q, p, id); err != nil {
		return nil, "", err
	}
	rows, err := q.Timeline(ctx, customerdb.TimelineParams{TenantID: p.TenantID, CustomerID: id, HasCursor: token != "",
		AfterTime: cur.at, AfterID: cur.id, MaxRows: int32(size + 1)})
	if err != nil {
		return nil, "", err
	}
	var (
		items     []Item
		forwarded []uuid.UUID
	)
	for _, r := range rows {
		items = append(items, itemOf(r))
		if event.Kind(r.Kind) == event.Forward && r.ShareID.Valid {
			forwarded = append(forwarded, r.ShareID.UUID)
		}
	}
	if len(forwarded) > 0 {
		reach, err := q.ForwardReach(ctx, customerdb.ForwardReachParams{TenantID: p.TenantID, ShareIds: forwarded, CustomerID: id})
		if err != nil {
			return nil, "", err
		}
		byShare := map[uuid.UUID]customerdb.ForwardReachRow{}
		for _, r := range reach {
			byShare[r.ShareID] = r
		}
		for i := range items {
			if items[i].Kind == event.Forward {
				r := byShare[items[i].ShareID.UUID]
				items[i].ForwardOpened, items[i].ForwardRead = int(r.Opened), int(r.Read)
			}
		}
	}
	next := ""
	if len(items) > size {
		items = items[:size]
		last := items[len(items)-1]
		next = encodeCursor(SortLastActive, Customer{LastActiveAt: last.OccurredAt, ID: last.ID})
	}
	return items, next, nil
}

// Text is the timeline sentence for an item.
func Text(it Item) string {
	title := "your card"
	if it.MaterialTitle != "" {
		title = "《" + it.MaterialTitle + "》"
	}
	switch it.Kind {
	case event.CardView:
		if it.DwellMs > 0 {
			return "Viewed your card for " + Duration(int64(it.DwellMs))
		}
		return "Viewed your card"
	case event.MaterialView:
		if it.DwellMs > 0 {
			return "Read " + title + " for " + Duration(int64(it.DwellMs))
		}
		return "Opened " + title
	case event.Forward:
		s := "Forwarded " + title
		if it.ForwardOpened > 0 {
			s += fmt.Sprintf(" to %d %s, %d of them read it", it.ForwardOpened, plural(it.ForwardOpened, "person", "people"), it.ForwardRead)
		}
		return s
	case event.CallClick:
		return "Tapped call"
	case event.WeChatClick:
		return "Tapped add-WeChat"
	case event.PhoneLeft:
		return "Left a phone number"
	case event.VideoProgress:
		return fmt.Sprintf("Watched %d%% of %s", it.Value, title)
	case event.BrochurePage:
		return fmt.Sprintf("Turned to page %d of %s", it.Value, title)
	case event.WeComAdded:
		return "Added you on WeCom"
	}
	return string(it.Kind)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Change holds the customer fields to change.
type Change struct {
	DisplayName, Remark, Phone *string
	Stage                      *Stage
	Tags                       *[]string
}

// Update changes a customer the caller may see.
func (s *Service) Update(ctx context.Context, p authn.Principal, id uuid.UUID, c Change) (Customer, error) {
	var out Customer
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		if err := UpdateTx(ctx, tx, p, id, c); err != nil {
			return err
		}
		var err error
		out, err = load(ctx, customerdb.New(tx), p, id)
		return err
	})
	return out, err
}

// UpdateTx changes a customer the caller may see, inside the caller's transaction. Only the fields set
// are written, so concurrent changes to other fields are kept. Access is checked by the UPDATE itself:
// one round trip.
func UpdateTx(ctx context.Context, tx pgx.Tx, p authn.Principal, id uuid.UUID, c Change) error {
	if c.Stage != nil && !c.Stage.Valid() {
		return platform.Invalid("stage", "unknown stage")
	}
	q := customerdb.New(tx)
	v, err := scope(ctx, q, p)
	if err != nil {
		return err
	}
	params := customerdb.UpdateCustomerParams{TenantID: p.TenantID, ID: id, DisplayName: c.DisplayName, Stage: (*string)(c.Stage),
		Remark: c.Remark, Phone: c.Phone, AllOwners: v.all, Owners: v.ownerList(), Pool: v.pool}
	if c.Tags != nil {
		params.SetTags, params.Tags = true, normalizeTags(*c.Tags)
		if len(params.Tags) > MaxTags {
			return errTooManyTags("tags")
		}
	}
	return found(q.UpdateCustomer(ctx, params))
}

// found turns "no row changed" into NotFound: the customer is not one the caller may see.
func found(n int64, err error) error {
	if err == nil && n == 0 {
		return errNotFound
	}
	return err
}

// ownerList is the owners a view names, never nil (a nil array is NULL to PostgreSQL).
func (v view) ownerList() []uuid.UUID {
	if v.owners == nil {
		return []uuid.UUID{}
	}
	return v.owners
}

// TagTx adds or removes one tag of a customer the caller may see, leaving the other tags as they are.
func TagTx(ctx context.Context, tx pgx.Tx, p authn.Principal, id uuid.UUID, tag string, add bool) error {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return platform.Invalid("tag", "must not be blank")
	}
	q := customerdb.New(tx)
	v, err := scope(ctx, q, p)
	if err != nil {
		return err
	}
	n, err := q.SetTag(ctx, customerdb.SetTagParams{TenantID: p.TenantID, ID: id, Tag: tag, Add: add,
		AllOwners: v.all, Owners: v.ownerList(), Pool: v.pool})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errNotFound
	case err != nil:
		return err
	case n > MaxTags:
		// The caller's transaction (the sync push's savepoint) is rolled back with the refusal.
		return errTooManyTags("tag")
	}
	return nil
}

// MaxTags is how many manual tags a customer may have, however they are set (the RPC's list, sync's one
// at a time).
const MaxTags = 20

func errTooManyTags(field string) error {
	return platform.Invalid(field, fmt.Sprintf("a customer has at most %d tags", MaxTags))
}

// Survivor follows a customer merged into another (a visitor who signed in as a known person) to the
// customer that carries on; a customer never merged is its own survivor.
func Survivor(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (uuid.UUID, error) {
	q := customerdb.New(tx)
	for range 8 {
		into, err := q.MergedInto(ctx, customerdb.MergedIntoParams{TenantID: tenantID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, errNotFound
		}
		if err != nil {
			return uuid.Nil, err
		}
		if !into.Valid {
			return id, nil
		}
		id = into.UUID
	}
	return uuid.Nil, errors.New("customer: merge chain too long")
}

func normalizeTags(tags []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// AddNote records a note or a follow-up on a customer the caller may see.
func (s *Service) AddNote(ctx context.Context, p authn.Principal, id uuid.UUID, kind NoteKind, body string, next *time.Time) (Note, error) {
	var n Note
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		n, err = AddNoteTx(ctx, tx, p, uuid.Must(uuid.NewV7()), id, kind, body, next)
		return err
	})
	return n, err
}

var errNoteNotFound = platform.NotFound("note")

// AddNoteTx records a note with the id given (an app that wrote it offline chose it), inside the caller's
// transaction.
func AddNoteTx(ctx context.Context, tx pgx.Tx, p authn.Principal, noteID, customerID uuid.UUID, kind NoteKind, body string, next *time.Time) (Note, error) {
	if kind != NotePlain && kind != NoteFollowUp {
		return Note{}, platform.Invalid("kind", "note or follow_up")
	}
	q := customerdb.New(tx)
	v, err := scope(ctx, q, p)
	if err != nil {
		return Note{}, err
	}
	n, err := q.InsertNote(ctx, customerdb.InsertNoteParams{ID: noteID, TenantID: p.TenantID,
		CustomerID: customerID, AuthorID: p.EmployeeID, Kind: string(kind), Body: body, NextAt: next,
		AllOwners: v.all, Owners: v.ownerList(), Pool: v.pool})
	if errors.Is(err, pgx.ErrNoRows) {
		return Note{}, errNotFound
	}
	if platform.IsUniqueViolation(err, "customer_notes_pkey") {
		return Note{}, platform.AlreadyExists("a note with this id exists")
	}
	if err != nil {
		return Note{}, err
	}
	return noteOf(n), nil
}

// ownNote reads a note the caller wrote, about a customer they may still see.
func ownNote(ctx context.Context, q *customerdb.Queries, p authn.Principal, noteID uuid.UUID) error {
	n, err := q.GetNote(ctx, customerdb.GetNoteParams{TenantID: p.TenantID, ID: noteID})
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoteNotFound
	}
	if err != nil {
		return err
	}
	if _, err := load(ctx, q, p, n.CustomerID); err != nil {
		return err
	}
	if n.AuthorID != p.EmployeeID {
		return platform.PermissionDenied("only its author may change a note")
	}
	return nil
}

// EditNoteTx rewrites a note the caller wrote. A note deleted meanwhile stays deleted (NotFound).
func EditNoteTx(ctx context.Context, tx pgx.Tx, p authn.Principal, noteID uuid.UUID, body string, next *time.Time) error {
	q := customerdb.New(tx)
	if err := ownNote(ctx, q, p, noteID); err != nil {
		return err
	}
	return q.EditNote(ctx, customerdb.EditNoteParams{TenantID: p.TenantID, ID: noteID, Body: body, NextAt: next})
}

// DeleteNoteTx deletes a note the caller wrote.
func DeleteNoteTx(ctx context.Context, tx pgx.Tx, p authn.Principal, noteID uuid.UUID) error {
	q := customerdb.New(tx)
	if err := ownNote(ctx, q, p, noteID); err != nil {
		return err
	}
	return q.DeleteNote(ctx, customerdb.DeleteNoteParams{TenantID: p.TenantID, ID: noteID})
}

// MaskPhone keeps a number recognisable without giving it away: 138****8000.
func MaskPhone(phone string) string {
	digits := strings.TrimPrefix(phone, "+")
	if len(digits) > 11 { // country code first: keep the national number
		digits = digits[len(digits)-11:]
	}
	if len(digits) < 7 {
		return strings.Repeat("*", len(digits))
	}
	return digits[:3] + strings.Repeat("*", len(digits)-7) + digits[len(digits)-4:]
}

// MaskIdentity shows the start of an identifier only.
func MaskIdentity(v string) string {
	if len(v) <= 4 {
		return "****"
	}
	return v[:4] + "****"
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// cursor is a page token: the last row's sort key.
type cursor struct {
	at    time.Time
	score int32
	id    uuid.UUID
}

func encodeCursor(sort Sort, c Customer) string {
	key := ""
	switch sort {
	case SortIntent:
		key = strconv.Itoa(int(c.IntentScore))
	case SortNewest:
		key = strconv.FormatInt(c.CreatedAt.UnixMicro(), 10)
	default:
		key = strconv.FormatInt(c.LastActiveAt.UnixMicro(), 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d|%s|%s", sort, key, c.ID)))
}

func decodeCursor(tok string, sort Sort) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return cursor{}, err
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 || parts[0] != strconv.Itoa(int(sort)) {
		return cursor{}, errors.New("malformed cursor")
	}
	var c cursor
	if c.id, err = uuid.Parse(parts[2]); err != nil {
		return cursor{}, err
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return cursor{}, err
	}
	if sort == SortIntent {
		c.score = int32(n)
	} else {
		c.at = time.UnixMicro(n)
	}
	return c, nil
}

// Assign gives a customer to a salesperson. Admins assign anyone's (or the pool's) customers to any active
// employee; managers assign customers they may see to active members of the teams they lead (or themselves).
func (s *Service) Assign(ctx context.Context, p authn.Principal, id, ownerID uuid.UUID) (Customer, error) {
	var out Customer
	// An assignment moves the customer and its children between sync scopes (the old owner's, the new
	// one's, their managers'), rows the ingest and devices' pushes touch too: a deadlock with them is run
	// again, as the ingest's own are.
	err := platform.Retry(ctx, 3, func() error {
		return s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
			var err error
			out, err = AssignTx(ctx, tx, p, id, ownerID)
			return err
		})
	})
	return out, err
}

// AssignTx is Assign inside the caller's transaction: the online RPC and an offline assignment pushed
// from a manager's device apply the same rules.
func AssignTx(ctx context.Context, tx pgx.Tx, p authn.Principal, id, ownerID uuid.UUID) (Customer, error) {
	if p.Role != authn.RoleAdmin && p.Role != authn.RoleManager {
		return Customer{}, platform.PermissionDenied("only admins and managers assign customers")
	}
	q := customerdb.New(tx)
	before, err := load(ctx, q, p, id)
	if err != nil {
		return Customer{}, err
	}
	emp, err := q.EmployeeForAssignment(ctx, customerdb.EmployeeForAssignmentParams{TenantID: p.TenantID, ID: ownerID})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && emp.Status != "active") {
		return Customer{}, platform.Invalid("owner_id", "no active employee with this id")
	}
	if err != nil {
		return Customer{}, err
	}
	if p.Role == authn.RoleManager && ownerID != p.EmployeeID && !p.LeadsTeam(emp.TeamID.UUID) {
		return Customer{}, platform.PermissionDenied("a manager assigns customers within the teams they lead")
	}
	if err := q.AssignCustomer(ctx, customerdb.AssignCustomerParams{TenantID: p.TenantID, ID: id, OwnerID: ownerID}); err != nil {
		return Customer{}, err
	}
	out, err := load(ctx, q, p, id)
	if err != nil {
		return Customer{}, err
	}
	return out, audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.CustomerAssign, TargetKind: audit.TargetCustomer, TargetID: id,
		Before: map[string]string{"owner_id": idOrEmpty(before.OwnerID.UUID)}, After: map[string]string{"owner_id": ownerID.String()}})
}

func idOrEmpty(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
