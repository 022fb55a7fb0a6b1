// Package tracking takes in what customers do on share pages (views, dwell, forwards, clicks, phone
// numbers left) and turns it into stored events and customer aggregates. Events are acknowledged only after
// the transaction holding them has committed, and many requests share one transaction (group commit):
// per-event transactions would cap ingest near the disk's fsync rate.
package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/share"
	"github.com/salesapp/scrm/push/alert"
)

// Limits on what one request may carry.
const (
	// MaxBatch is the most events one request may carry.
	MaxBatch = 100
	// MaxHeartbeat is the longest dwell one heartbeat may claim (pages beat every few seconds).
	MaxHeartbeat = 60 * time.Second
	// clockSlack is what a view's dwell may exceed the time since it reached us by: one heartbeat.
	clockSlack = MaxHeartbeat
	// maxAge is how old an event's own timestamp may be; older ones are stamped with the time received.
	maxAge = 24 * time.Hour
)

// Event is one thing a customer did, as the page reports it.
type Event struct {
	// ID is chosen by the page; an event sent twice is stored once.
	ID   uuid.UUID
	Kind event.Kind
	// ShareToken is the link the page was opened with.
	ShareToken string
	// VisitorID is the page's anonymous id for this browser or mini-program install.
	VisitorID  string
	OccurredAt time.Time
	// DwellMs is what a heartbeat adds to its view (ViewID).
	DwellMs int
	ViewID  uuid.UUID
	// Value is the percentage of a video watched, or the brochure page number.
	Value int
	// Phone is the number a customer left (phone_left).
	Phone string
	// PhoneVerified says Phone is the customer's own, as WeChat's getuserphonenumber gave it. Only callers
	// that got it there set it; public input (the page's form, beacons, TrackingService) never does, and
	// such a number is stored as unverified, never replacing a verified one.
	PhoneVerified bool
}

// Result says what became of a batch: Accepted were stored now, Duplicates had been stored before,
// Rejected were not stored because their visitor was new and the budget of new visitors (of the share link
// or its tenant, Config.NewVisitorsPerShare and NewVisitorsPerTenant) was spent.
type Result struct {
	Accepted, Duplicates, Rejected int
	// refused are the positions, in the request, of the Rejected events.
	refused []int
}

var visitorPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
var phonePattern = regexp.MustCompile(`^\+?[0-9]{5,20}$`)

// Service ingests events.
type Service struct {
	shares *share.Service
	cache  *shareCache
	log    *slog.Logger
	commit *committer
	now    func() time.Time
}

// Config tunes the group commit.
type Config struct {
	// MaxEventsPerCommit bounds one transaction.
	MaxEventsPerCommit int
	// Committers is how many transactions may be in flight at once: while one commits, the next fills.
	Committers int
	// Linger is how long a committer waits for more requests after the first before it commits.
	Linger time.Duration
	// Jobs enqueues the pushes of new alerts in the events' transaction.
	Jobs alert.Jobs
	// Wake is told, after each commit, which alert streams grew (to deliver them now).
	Wake func([]alert.Key)
	// NewVisitorsPerShare and NewVisitorsPerTenant are how many new visitors (visitor ids no customer has,
	// each of whom would become a customer) one share link and one tenant may bring in a minute, on this
	// node (see newVisitorBudget); 0: no limit. Known visitors are never refused.
	NewVisitorsPerShare, NewVisitorsPerTenant int
}

// NewService builds the service and starts its committers; Close stops them.
func NewService(db *platform.DB, shares *share.Service, log *slog.Logger, cfg Config) *Service {
	if cfg.MaxEventsPerCommit <= 0 {
		cfg.MaxEventsPerCommit = 2000
	}
	if cfg.Committers <= 0 {
		cfg.Committers = 2
	}
	if cfg.Linger <= 0 {
		cfg.Linger = time.Millisecond
	}
	s := &Service{shares: shares, cache: newShareCache(time.Minute), log: log, now: time.Now}
	s.commit = newCommitter(db, log, cfg.MaxEventsPerCommit, cfg.Committers, cfg.Linger)
	s.commit.jobs, s.commit.wake = cfg.Jobs, cfg.Wake
	if cfg.NewVisitorsPerShare > 0 || cfg.NewVisitorsPerTenant > 0 {
		s.commit.budget = newBudget(cfg.NewVisitorsPerShare, cfg.NewVisitorsPerTenant)
	}
	return s
}

// Ping reports whether PostgreSQL answers on the pool events are stored through.
func (s *Service) Ping(ctx context.Context) error { return s.commit.db.Pool.Ping(ctx) }

// Close stops the committers after the batches in hand are committed.
func (s *Service) Close() { s.commit.close() }

// Ingest validates a batch, stores it with others in one transaction, and returns once it has committed.
// A batch with any invalid event is refused whole, with the offending event's index; nothing of it is
// stored, so the page can drop that event and resend the rest. Events of new visitors over the budget of
// new visitors are left out and counted in Result.Rejected; the rest is stored.
func (s *Service) Ingest(ctx context.Context, events []Event) (Result, error) {
	res, _, err := s.ingest(ctx, events, false)
	return res, err
}

// Rejection is an event IngestValid left out, and why.
type Rejection struct {
	// Index is the event's position in the batch.
	Index int
	// Err is why: a platform.Error of kind Invalid or NotFound whose Field is within the event (see AtIndex),
	// or of kind ResourceExhausted (with RetryAfter) for a new visitor over the budget of new visitors.
	Err error
}

// IngestValid is Ingest for clients that cannot act on a refusal (a page sending a beacon as it closes never
// reads the answer): it stores the valid events, leaves out the invalid ones and says which it left out.
// Only a batch too large, or a failure to store, is an error.
func (s *Service) IngestValid(ctx context.Context, events []Event) (Result, []Rejection, error) {
	return s.ingest(ctx, events, true)
}

// ingest is Ingest, and IngestValid when skipInvalid.
func (s *Service) ingest(ctx context.Context, events []Event, skipInvalid bool) (Result, []Rejection, error) {
	if len(events) > MaxBatch {
		return Result{}, nil, platform.Invalid("events", fmt.Sprintf("at most %d events per request", MaxBatch))
	}
	now := s.now()
	out := make([]resolved, 0, len(events))
	pos := make([]int, 0, len(events)) // pos[i] is out[i]'s index in events
	var rejected []Rejection
	for i, e := range events {
		r, err := s.resolve(ctx, e, now)
		if err != nil {
			if k := platform.KindOf(err); !skipInvalid || (k != platform.KindInvalid && k != platform.KindNotFound) {
				return Result{}, nil, AtIndex(err, i)
			}
			rejected = append(rejected, Rejection{Index: i, Err: err})
			continue
		}
		out, pos = append(out, r), append(pos, i)
	}
	if len(out) == 0 {
		return Result{}, rejected, nil
	}
	res, err := s.commit.submit(ctx, out)
	for _, i := range res.refused {
		rejected = append(rejected, Rejection{Index: pos[i], Err: errNewVisitorBudget})
	}
	res.refused = nil
	return res, rejected, err
}

// AtIndex prefixes a domain error's field with the event's index in its batch: events[i].field, or
// events[i] when the error names no field.
func AtIndex(err error, i int) error {
	var de *platform.Error
	if !errors.As(err, &de) {
		return err
	}
	field := fmt.Sprintf("events[%d]", i)
	if de.Field != "" {
		field += "." + de.Field
	}
	return &platform.Error{Kind: de.Kind, Field: field, Msg: de.Msg}
}

// resolved is an event with its share looked up.
type resolved struct {
	Event
	share share.Share
}

func (s *Service) resolve(ctx context.Context, e Event, now time.Time) (resolved, error) {
	switch {
	case e.ID == uuid.Nil:
		return resolved{}, platform.Invalid("event_id", "required")
	case !e.Kind.Valid():
		return resolved{}, platform.Invalid("kind", "unknown event kind")
	case !visitorPattern.MatchString(e.VisitorID):
		return resolved{}, platform.Invalid("visitor_id", "8 to 64 letters, digits, _ or -")
	case e.Kind == event.Dwell && e.ViewID == uuid.Nil:
		return resolved{}, platform.Invalid("view_id", "a heartbeat names the view it belongs to")
	case e.Kind == event.Dwell && (e.DwellMs <= 0 || time.Duration(e.DwellMs)*time.Millisecond > MaxHeartbeat):
		return resolved{}, platform.Invalid("dwell_ms", fmt.Sprintf("a heartbeat adds 1 ms to %s", MaxHeartbeat))
	case e.Kind == event.PhoneLeft && !phonePattern.MatchString(e.Phone):
		return resolved{}, platform.Invalid("phone", "digits with an optional leading +")
	case e.Value < 0 || (e.Kind == event.VideoProgress && e.Value > 100):
		return resolved{}, platform.Invalid("value", "out of range")
	}
	if e.Kind != event.Dwell {
		e.DwellMs = 0
	}
	// The page's clock is not trusted beyond plausibility: future or stale times become the receive time.
	if e.OccurredAt.IsZero() || e.OccurredAt.After(now.Add(time.Minute)) || e.OccurredAt.Before(now.Add(-maxAge)) {
		e.OccurredAt = now
	}
	sh, err := s.share(ctx, e.ShareToken)
	if err != nil {
		return resolved{}, err
	}
	if e.Kind == event.MaterialView && sh.MaterialID == uuid.Nil {
		return resolved{}, platform.Invalid("kind", "a card link has no material to view")
	}
	return resolved{Event: e, share: sh}, nil
}

func (s *Service) share(ctx context.Context, token string) (share.Share, error) {
	if !share.WellFormed(token) {
		return share.Share{}, &platform.Error{Kind: platform.KindNotFound, Field: "share_token", Msg: "no such share link"}
	}
	if sh, ok := s.cache.get(token); ok {
		return sh, nil
	}
	sh, err := s.shares.Resolve(ctx, token)
	if err != nil {
		var de *platform.Error
		if errors.As(err, &de) && de.Kind == platform.KindNotFound {
			return share.Share{}, &platform.Error{Kind: platform.KindNotFound, Field: "share_token", Msg: "no such share link"}
		}
		return share.Share{}, err
	}
	s.cache.put(token, sh)
	return sh, nil
}

// shareCache remembers resolved share links: a share never changes once made, so only its deletion can
// make an entry stale, and an event recorded against a just-deleted share does no harm.
type shareCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]cachedShare
}

type cachedShare struct {
	sh    share.Share
	until time.Time
}

const maxCachedShares = 100_000

func newShareCache(ttl time.Duration) *shareCache {
	return &shareCache{ttl: ttl, m: make(map[string]cachedShare)}
}

func (c *shareCache) get(token string) (share.Share, bool) {
	c.mu.RLock()
	e, ok := c.m[token]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.until) {
		return share.Share{}, false
	}
	return e.sh, true
}

func (c *shareCache) put(token string, sh share.Share) {
	c.mu.Lock()
	if len(c.m) >= maxCachedShares {
		c.m = make(map[string]cachedShare)
	}
	c.m[token] = cachedShare{sh: sh, until: time.Now().Add(c.ttl)}
	c.mu.Unlock()
}
