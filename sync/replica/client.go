package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
)

// MaxPushBatch is the most mutations one Push request may carry.
const MaxPushBatch = 500

// maxResetsPerSync bounds how often one Sync starts over, so that a server answering reset to every
// cursor (even an empty one) fails the call instead of spinning.
const maxResetsPerSync = 3

var (
	// ErrSchemaUnsupported: the server does not accept this client's schema version. The client
	// refuses every later call; the app must be updated.
	ErrSchemaUnsupported = errors.New("replica: schema version unsupported by the server")
	// ErrGap: the server refused a push whose first new mutation does not follow its last one. The
	// outbox is kept; the device's numbering no longer matches the server's record of it.
	ErrGap = errors.New("replica: mutation id gap refused by the server")
	// ErrProtocol: the server answered something the protocol does not allow.
	ErrProtocol = errors.New("replica: protocol violation")
	// ErrInvalidMutation: Enqueue refused a mutation the server's request rules would refuse.
	ErrInvalidMutation = errors.New("replica: invalid mutation")
)

// Client is the reference SyncService client: Sync pulls into the store's replica, Enqueue queues
// mutations durably and Push sends them. Its methods are safe for concurrent use; Syncs run one at a
// time, and so do Pushes.
type Client struct {
	rpc      salesappv1connect.SyncServiceClient
	store    Store
	deviceID string
	cfg      config

	syncMu sync.Mutex
	pushMu sync.Mutex

	fatalMu sync.Mutex
	fatal   error
}

type config struct {
	schemaVersion  uint32
	pageSize       uint32
	pushBatch      int
	retry          RetryPolicy
	requestTimeout time.Duration
	logger         *slog.Logger
	connectOpts    []connect.ClientOption
	betweenSaves   func() error
}

// Option configures a Client.
type Option func(*config)

// WithSchemaVersion sets the client's schema version (default 1).
func WithSchemaVersion(v uint32) Option { return func(c *config) { c.schemaVersion = v } }

// MaxPageSize is the most changes a pull may ask for (PullRequest.page_size), and the client's default: a
// page size is only a ceiling, so an incremental pull costs the same whatever it asks, while a first sync
// or a long catch-up takes a fifth of the round trips the server's default (1,000) would. The server ends a
// page earlier at its byte budget (about 4 MB), so a page stays bounded in memory on both sides.
const MaxPageSize = 5000

// WithPageSize sets the page size asked for (default MaxPageSize; 0: the server's default).
func WithPageSize(n uint32) Option { return func(c *config) { c.pageSize = min(n, MaxPageSize) } }

// WithPushBatchSize sets how many mutations one Push request carries, at most MaxPushBatch (the default).
func WithPushBatchSize(n int) Option {
	return func(c *config) { c.pushBatch = min(max(n, 1), MaxPushBatch) }
}

// WithRetry sets the retry policy for transient failures (default DefaultRetryPolicy).
func WithRetry(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithRequestTimeout bounds each attempt of a request (default 30s); an attempt that runs out is
// retried like any transient failure.
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.requestTimeout = d } }

// WithLogger sets the logger for retries and resets (default: none).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithConnectOptions passes options to the Connect client, such as connect.WithProtoJSON() or
// connect.WithGRPC().
func WithConnectOptions(opts ...connect.ClientOption) Option {
	return func(c *config) { c.connectOpts = append(c.connectOpts, opts...) }
}

// WithSplitPageSaves makes the client save each page as two steps, its changes and then its cursor,
// and call between in the middle. If between returns an error, Sync returns it at once, as if the
// device had crashed there: tests use it to show that re-pulling a page whose cursor was not saved
// converges. Never use it in an app.
func WithSplitPageSaves(between func() error) Option {
	return func(c *config) { c.betweenSaves = between }
}

// New returns a client of the SyncService at baseURL for one device. token returns the bearer token
// sent with each request (none when it returns ""). Client.Close closes store.
func New(httpClient connect.HTTPClient, baseURL string, token func() string, deviceID string, store Store, opts ...Option) (*Client, error) {
	if deviceID == "" {
		return nil, errors.New("replica: device id is required")
	}
	if store == nil {
		return nil, errors.New("replica: store is required")
	}
	cfg := config{
		schemaVersion:  1,
		pageSize:       MaxPageSize,
		pushBatch:      MaxPushBatch,
		retry:          DefaultRetryPolicy,
		requestTimeout: 30 * time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	connectOpts := append([]connect.ClientOption{connect.WithInterceptors(bearer(token))}, cfg.connectOpts...)
	return &Client{
		rpc:      salesappv1connect.NewSyncServiceClient(httpClient, baseURL, connectOpts...),
		store:    store,
		deviceID: deviceID,
		cfg:      cfg,
	}, nil
}

// bearer adds "Authorization: Bearer <token>" to every request.
func bearer(token func() string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != nil {
				if t := token(); t != "" {
					req.Header().Set("Authorization", "Bearer "+t)
				}
			}
			return next(ctx, req)
		}
	}
}

// Store returns the client's store.
func (c *Client) Store() Store { return c.store }

// Entities returns a snapshot of the replica keyed by kind and id; the messages must not be changed.
func (c *Client) Entities() map[Key]proto.Message { return c.store.Entities() }

// Get returns one entity of the replica.
func (c *Client) Get(kind salesappv1.EntityKind, id string) (proto.Message, bool) {
	return c.store.Get(Key{Kind: kind, ID: id})
}

// Prune drops the timeline entries, alerts and tasks that have expired at now (the server sends no
// tombstones for them). An app calls it at start and after each Sync.
func (c *Client) Prune(now time.Time) (int, error) { return c.store.Prune(now) }

// Close closes the client's store.
func (c *Client) Close() error { return c.store.Close() }

// SyncReport tells what one Sync did.
type SyncReport struct {
	// Pages and Changes count the pages saved and the changes they held.
	Pages, Changes int
	// Resets counts the times the server answered reset and the replica was dropped.
	Resets int
	// LastMutationID is the device's last mutation whose effects the replica now contains.
	LastMutationID uint32
	// RetryAfter, when not zero, is the server asking for another Sync after this long because
	// changes may be held back (a transaction open for a while holds changes it has not committed, maybe
	// another tenant's): an app shows "syncing…" and syncs again then. Zero: the replica has every
	// change committed before the last page was read.
	RetryAfter time.Duration
}

// Sync pulls until the server has nothing more: it saves each page with its cursor, and starts over
// from an empty cursor after dropping the replica when the server answers reset. Transient failures are
// retried per the retry policy; the pages saved before an error stay saved.
//
// While a page is being saved, the next one is already asked for with the cursor it gave: the server's
// work on one page overlaps the device's on the other. The cursor saved is still each saved page's own,
// so a page asked for ahead is dropped with nothing lost when the save before it fails.
func (c *Client) Sync(ctx context.Context) (SyncReport, error) {
	var report SyncReport
	if err := c.failed(); err != nil {
		return report, err
	}
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	var ahead <-chan pulled // the next page, asked for while the last one was saved
	defer func() {
		cancel()
		if ahead != nil {
			<-ahead // the page asked for ahead is not needed: wait for its request to end
		}
	}()
	for {
		var p pulled
		if ahead != nil {
			p, ahead = <-ahead, nil
		} else {
			p = c.pull(ctx, c.store.Cursor())
		}
		resp, cursor := p.resp, p.cursor
		if p.err != nil {
			return report, c.callError(p.err, false)
		}
		if resp.GetMustReset() {
			report.Resets++
			if report.Resets > maxResetsPerSync {
				return report, fmt.Errorf("%w: reset %d times in one sync", ErrProtocol, report.Resets)
			}
			c.cfg.logger.InfoContext(ctx, "sync reset: dropping the replica", "device_id", c.deviceID)
			if err := c.store.Reset(); err != nil {
				return report, err
			}
			continue
		}
		for _, ch := range resp.GetChanges() {
			if err := CheckChange(ch); err != nil {
				return report, fmt.Errorf("%w: %w", ErrProtocol, err)
			}
		}
		if resp.GetHasMore() && len(resp.GetChanges()) == 0 && resp.GetNextCursor() == cursor {
			return report, fmt.Errorf("%w: has_more without progress at cursor %q", ErrProtocol, cursor)
		}
		if resp.GetHasMore() {
			next := make(chan pulled, 1)
			go func() { next <- c.pull(ctx, resp.GetNextCursor()) }()
			ahead = next
		}
		if err := c.savePage(resp); err != nil {
			return report, err
		}
		report.Pages++
		report.Changes += len(resp.GetChanges())
		report.LastMutationID = resp.GetLastMutationId()
		if !resp.GetHasMore() {
			report.RetryAfter = time.Duration(resp.GetRetryAfterMs()) * time.Millisecond
			return report, nil
		}
	}
}

// pulled is one pull's answer, or its error, with the cursor it was asked with.
type pulled struct {
	cursor string
	resp   *salesappv1.PullResponse
	err    error
}

// pull asks for the page after cursor.
func (c *Client) pull(ctx context.Context, cursor string) pulled {
	resp, err := call(ctx, c, "pull", c.rpc.Pull, &salesappv1.PullRequest{
		DeviceId:      c.deviceID,
		SchemaVersion: c.cfg.schemaVersion,
		Cursor:        cursor,
		PageSize:      c.cfg.pageSize,
	})
	return pulled{cursor: cursor, resp: resp, err: err}
}

func (c *Client) savePage(resp *salesappv1.PullResponse) error {
	if c.cfg.betweenSaves == nil {
		return c.store.SavePage(resp.GetChanges(), resp.GetNextCursor(), resp.GetLastMutationId())
	}
	if err := c.store.ApplyChanges(resp.GetChanges()); err != nil {
		return err
	}
	if err := c.cfg.betweenSaves(); err != nil {
		return err
	}
	return c.store.SaveCursor(resp.GetNextCursor(), resp.GetLastMutationId())
}

// Enqueue queues a mutation durably and returns its id. op is the operation (a *salesappv1.SetStage,
// *salesappv1.AddNote, ...) or a whole *salesappv1.Mutation whose id is ignored. A mutation the
// server's field rules would reject is not queued (ErrInvalidMutation): the user should hear at once,
// not after a push answers it REJECTED.
func (c *Client) Enqueue(op proto.Message) (uint32, error) {
	m, err := mutationOf(op)
	if err != nil {
		return 0, err
	}
	m.Id = 1 // validated with a placeholder; the store assigns the real one
	if err := protovalidate.Validate(m); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidMutation, err)
	}
	return c.store.Enqueue(m)
}

// mutationOf wraps op in a new Mutation, setting the op oneof's field whose type is op's.
func mutationOf(op proto.Message) (*salesappv1.Mutation, error) {
	if op == nil {
		return nil, fmt.Errorf("%w: no operation", ErrInvalidMutation)
	}
	if m, ok := op.(*salesappv1.Mutation); ok {
		if m.GetOp() == nil {
			return nil, fmt.Errorf("%w: no operation", ErrInvalidMutation)
		}
		return proto.CloneOf(m), nil
	}
	m := &salesappv1.Mutation{}
	mr := m.ProtoReflect()
	name := op.ProtoReflect().Descriptor().FullName()
	fields := mr.Descriptor().Oneofs().ByName("op").Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Message() != nil && fd.Message().FullName() == name {
			mr.Set(fd, protoreflect.ValueOfMessage(proto.Clone(op).ProtoReflect()))
			return m, nil
		}
	}
	return nil, fmt.Errorf("%w: %s is not a mutation", ErrInvalidMutation, name)
}

// PushReport tells what one Push did.
type PushReport struct {
	// Results are the server's answers, one per mutation removed from the outbox, in order.
	Results []*salesappv1.MutationResult
	// LastMutationID is the server's last mutation id for the device after the last request.
	LastMutationID uint32
}

// NotApplied returns the results the app must tell its user about: edits that lost a conflict and
// mutations the server rejected.
func (r PushReport) NotApplied() []*salesappv1.MutationResult {
	var out []*salesappv1.MutationResult
	for _, res := range r.Results {
		if res.GetOutcome() != salesappv1.MutationResult_OUTCOME_APPLIED {
			out = append(out, res)
		}
	}
	return out
}

// Push sends the outbox in order, in batches, until it is empty. Each answered mutation (applied,
// lost or rejected) leaves the outbox; a transient failure is retried per the retry policy and, if it
// persists, returned with the outbox kept for a later Push. A request whose answer was lost is simply
// sent again: the server answers the ids it already has from its record.
func (c *Client) Push(ctx context.Context) (PushReport, error) {
	var report PushReport
	if err := c.failed(); err != nil {
		return report, err
	}
	c.pushMu.Lock()
	defer c.pushMu.Unlock()
	for {
		outbox := c.store.Outbox()
		if len(outbox) == 0 {
			return report, nil
		}
		batch := outbox[:min(len(outbox), c.cfg.pushBatch)]
		req := &salesappv1.PushRequest{
			DeviceId:      c.deviceID,
			SchemaVersion: c.cfg.schemaVersion,
			Mutations:     batch,
		}
		resp, err := call(ctx, c, "push", c.rpc.Push, req)
		if err != nil {
			return report, c.callError(err, true)
		}
		report.LastMutationID = resp.GetLastMutationId()
		answered := answeredPrefix(batch, resp.GetResults())
		if answered == 0 {
			return report, fmt.Errorf("%w: push of %d..%d answered none of them", ErrProtocol,
				batch[0].GetId(), batch[len(batch)-1].GetId())
		}
		if err := c.store.Ack(batch[answered-1].GetId()); err != nil {
			return report, err
		}
		report.Results = append(report.Results, resp.GetResults()[:answered]...)
	}
}

// answeredPrefix counts the mutations at the start of batch that results answer with an outcome.
func answeredPrefix(batch []*salesappv1.Mutation, results []*salesappv1.MutationResult) int {
	n := 0
	for n < len(batch) && n < len(results) &&
		results[n].GetId() == batch[n].GetId() &&
		results[n].GetOutcome() != salesappv1.MutationResult_OUTCOME_UNSPECIFIED {
		n++
	}
	return n
}

// callError turns a failed call into the error Sync or Push returns, and remembers a fatal one.
func (c *Client) callError(err error, push bool) error {
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		return err
	}
	var ce *connect.Error
	if errors.As(err, &ce) && strings.Contains(strings.ToLower(ce.Message()), "schema version") {
		fatal := fmt.Errorf("%w: %w", ErrSchemaUnsupported, err)
		c.fatalMu.Lock()
		c.fatal = fatal
		c.fatalMu.Unlock()
		return fatal
	}
	if push {
		return fmt.Errorf("%w: %w", ErrGap, err)
	}
	return err
}

func (c *Client) failed() error {
	c.fatalMu.Lock()
	defer c.fatalMu.Unlock()
	return c.fatal
}
