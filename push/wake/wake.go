// Package wake tells every salesd node that alert streams grew, so their WebSocket connections fetch the
// new entries at once. A node that commits alerts wakes its own connections directly and publishes the
// keys with PostgreSQL NOTIFY after the commit (never inside the events' transaction: a NOTIFY there
// serializes commits), coalesced into few notifications; every node LISTENs and wakes its connections.
// Nothing depends on a notification arriving: the hub also polls, so a lost listener only adds delay.
package wake

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/push/alert"
)

// Channel is the NOTIFY channel.
const Channel = "salesapp_alerts"

// maxPayload keeps a notification under PostgreSQL's 8,000-byte limit.
const maxPayload = 7_000

// Publisher coalesces keys and publishes them with NOTIFY.
type Publisher struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	in     chan alert.Key
	linger time.Duration
}

// NewPublisher builds a publisher; Run publishes until ctx ends.
func NewPublisher(pool *pgxpool.Pool, log *slog.Logger) *Publisher {
	return &Publisher{pool: pool, log: log, in: make(chan alert.Key, 65536), linger: 5 * time.Millisecond}
}

// Publish queues keys without blocking; if the queue is full the keys are dropped (polling delivers them).
func (p *Publisher) Publish(keys []alert.Key) {
	for _, k := range keys {
		select {
		case p.in <- k:
		default:
		}
	}
}

// Run sends coalesced notifications until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	for {
		var first alert.Key
		select {
		case first = <-p.in:
		case <-ctx.Done():
			return
		}
		set := map[alert.Key]bool{first: true}
		timer := time.NewTimer(p.linger)
	collect:
		for {
			select {
			case k := <-p.in:
				set[k] = true
			case <-timer.C:
				break collect
			case <-ctx.Done():
				timer.Stop()
				return
			}
		}
		var b strings.Builder
		flush := func() {
			if b.Len() == 0 {
				return
			}
			if _, err := p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, b.String()); err != nil {
				p.log.Warn("alert wake-up not published (connections will poll)", "error", err)
			}
			b.Reset()
		}
		for k := range set {
			if b.Len() > maxPayload {
				flush()
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k.TenantID.String())
			b.WriteByte(':')
			b.WriteString(k.EmployeeID.String())
		}
		flush()
	}
}

// Listen LISTENs on its own connection and calls wake for every key announced, reconnecting with backoff
// when the connection is lost, until ctx ends.
func Listen(ctx context.Context, url string, log *slog.Logger, wake func(alert.Key)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, url, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn("alert listener lost its connection; connections poll meanwhile", "error", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func listenOnce(ctx context.Context, url string, wake func(alert.Key)) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		for _, item := range strings.Fields(n.Payload) {
			t, e, ok := strings.Cut(item, ":")
			if !ok {
				continue
			}
			tid, err1 := uuid.Parse(t)
			eid, err2 := uuid.Parse(e)
			if err1 == nil && err2 == nil {
				wake(alert.Key{TenantID: tid, EmployeeID: eid})
			}
		}
	}
}
