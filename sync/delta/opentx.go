package delta

import (
	"slices"
	"sync"
	"time"
)

// How a pull tells that changes may be held back (Page.RetryAfter). A transaction counts once pulls have
// seen it in progress for longTx: the tracking ingest's and the RPCs' transactions last milliseconds, and
// hinting at each of them would have every device come back every retryMin under load. Whether it wrote
// change rows is asked of pg_locks, at most every recheck for one that had not yet.
const (
	longTx   = 100 * time.Millisecond
	recheck  = 500 * time.Millisecond
	retryMin = 250 * time.Millisecond
	retryMax = 5 * time.Second
)

// openTxs remembers, across the pulls an engine serves, since when each transaction their snapshots
// showed in progress has been seen so, and whether it holds change rows it has not committed. It holds
// only transactions still in progress at the latest snapshot that could tell (at most one per
// connection of the cluster).
type openTxs struct {
	mu   sync.Mutex
	seen map[int64]*openTx
}

type openTx struct {
	since   time.Time // first seen in progress
	checked time.Time // last asked whether it wrote change rows; zero: never
	writes  bool      // it did (a lock held to its end says so): it holds back change rows
}

// observe records what a snapshot showed at now: xip in progress, and every other transaction below
// xmax finished. It returns since when the oldest known writer among xip has been open (zero: none
// known), and the transactions among xip open for longTx or more whose writing is to be asked (again).
func (o *openTxs) observe(xmax int64, xip []int64, now time.Time, long, again time.Duration) (writerSince time.Time, check []int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[int64]*openTx{}
	}
	for xid := range o.seen {
		// Finished by this snapshot. (One taken before xid began says nothing of it: xid is at or above
		// its xmax.)
		if _, in := slices.BinarySearch(xip, xid); xid < xmax && !in {
			delete(o.seen, xid)
		}
	}
	for _, xid := range xip {
		t := o.seen[xid]
		if t == nil {
			o.seen[xid] = &openTx{since: now}
			continue
		}
		switch {
		case now.Sub(t.since) < long:
		case t.writes:
			if writerSince.IsZero() || t.since.Before(writerSince) {
				writerSince = t.since
			}
		case t.checked.IsZero() || now.Sub(t.checked) >= again:
			check = append(check, xid)
		}
	}
	return writerSince, check
}

// record stores what pg_locks answered at now for checked: writers are the low 32 bits of those that
// hold change rows. It returns since when the oldest of those writers has been open (zero: none).
func (o *openTxs) record(checked, writers []int64, now time.Time) (writerSince time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, xid := range checked {
		t := o.seen[xid]
		if t == nil {
			continue // finished meanwhile, by another pull's snapshot
		}
		t.checked = now
		if slices.Contains(writers, xid32(xid)) {
			t.writes = true
			if writerSince.IsZero() || t.since.Before(writerSince) {
				writerSince = t.since
			}
		}
	}
	return writerSince
}

// xid32 is the 32-bit transaction id pg_locks shows for an xid8: its low half. Transactions in progress
// at once span far less than 2^31 ids, so no two of them share it.
func xid32(xid int64) int64 { return xid & 0xFFFF_FFFF }

// retryAfter is when a device is asked to come back while a transaction open for age holds change rows
// back: a quarter of that age (a transaction open long is likely to stay open a while), within
// [retryMin, retryMax].
func retryAfter(age time.Duration) time.Duration {
	return min(max(age/4, retryMin), retryMax)
}
