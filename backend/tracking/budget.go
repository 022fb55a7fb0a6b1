package tracking

import (
	"time"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/ratelimit"
)

// newVisitorBudget bounds how many customers anonymous visitors can make: each new visitor (a visitor id
// no customer has yet) takes a token from their share link's bucket and from their tenant's, each
// refilling over a minute. A visitor refused gets no customer and nothing of theirs is stored; their page
// is told (rejected) and may resend later. Visitors already known are never asked.
//
// The buckets are in memory, per node, and bounded in keys: with N nodes behind a balancer spreading
// requests evenly, a link or a tenant can take in up to N times the budget a minute cluster-wide. This is
// a first line against one client (or a few) minting visitor ids, which the per-address limit already
// slows; it does not make the counter exact across nodes, which would serialize every ingest transaction
// of a tenant on one counter row.
type newVisitorBudget struct {
	perShare, perTenant *ratelimit.Limiter
}

// Bounds on the keys the budgets track: links and tenants idle past a minute are forgotten (their
// buckets were full again anyway).
const (
	maxBudgetShares  = 100_000
	maxBudgetTenants = 20_000
)

// newBudget allows perShare new visitors a minute per share link and perTenant per tenant (0: no limit).
func newBudget(perShare, perTenant int) *newVisitorBudget {
	b := &newVisitorBudget{}
	if perShare > 0 {
		b.perShare = ratelimit.New(float64(perShare)/60, perShare, maxBudgetShares)
	}
	if perTenant > 0 {
		b.perTenant = ratelimit.New(float64(perTenant)/60, perTenant, maxBudgetTenants)
	}
	return b
}

// admit takes a token for a new visitor of tenantID from both buckets, or from neither.
func (b *newVisitorBudget) admit(tenantID uuid.UUID, v customer.Visit) bool {
	var undo func()
	if b.perShare != nil {
		var ok bool
		if undo, ok = b.perShare.Take(v.ShareID.String()); !ok {
			return false
		}
	}
	if b.perTenant != nil {
		if _, ok := b.perTenant.Take(tenantID.String()); !ok {
			if undo != nil {
				undo()
			}
			return false
		}
	}
	return true
}

// errNewVisitorBudget is what an event of a visitor refused by the budget is rejected with.
var errNewVisitorBudget = &platform.Error{Kind: platform.KindResourceExhausted, Field: "visitor_id",
	Msg: "too many new visitors on this link or its company this minute: resend in a minute", RetryAfter: time.Minute}
