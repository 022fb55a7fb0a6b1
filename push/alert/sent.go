package alert

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salesapp/scrm/push/alert/internal/alertdb"
)

// SentFlushInterval is how often a node adds its counts of pushes sent to push_days (usage).
const SentFlushInterval = 10 * time.Second

// sentCounts counts the pushes this node sent, per tenant, until the next flush: a push costs a map
// increment, not a write. A node killed between flushes loses its last seconds of counts (usage figures),
// never a push.
type sentCounts struct {
	s    *Service
	mu   sync.Mutex
	n    map[uuid.UUID]int32
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newSentCounts(s *Service) *sentCounts {
	c := &sentCounts{s: s, n: map[uuid.UUID]int32{}, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

func (c *sentCounts) add(tenantID uuid.UUID) {
	c.mu.Lock()
	c.n[tenantID]++
	c.mu.Unlock()
}

func (c *sentCounts) loop() {
	defer close(c.done)
	t := time.NewTicker(SentFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.flush()
		case <-c.stop:
			c.flush()
			return
		}
	}
}

// close flushes what is counted and stops.
func (c *sentCounts) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

// flush adds the counts to each tenant's day; a tenant whose write fails keeps its count for the next.
func (c *sentCounts) flush() {
	c.mu.Lock()
	n := c.n
	c.n = map[uuid.UUID]int32{}
	c.mu.Unlock()
	if len(n) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	day := pgtype.Date{Time: time.Now().UTC().Truncate(24 * time.Hour), Valid: true}
	for tenantID, sent := range n {
		err := c.s.tx(ctx, Key{TenantID: tenantID}, func(q *alertdb.Queries) error {
			return q.AddPushesSent(ctx, alertdb.AddPushesSentParams{TenantID: tenantID, Day: day, Sent: sent})
		})
		if err != nil {
			// Kept for the next flush (the database away, the node stopping): counts, not pushes, wait.
			c.mu.Lock()
			c.n[tenantID] += sent
			c.mu.Unlock()
		}
	}
}
