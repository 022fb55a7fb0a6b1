package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/auth/internal/authdb"
	"github.com/salesapp/scrm/backend/platform"
)

// throttlePolicy says how failed attempts on one key slow the next ones down: none before backoffAfter
// failures, then a delay that doubles from a second up to maxDelay, and from lockAfter failures a lock.
// Failures older than window are forgotten.
type throttlePolicy struct {
	backoffAfter, lockAfter int
	maxDelay, lock, window  time.Duration
}

var (
	// loginPolicy throttles one login, whether or not any employee has it (so that the answers tell
	// nothing about which logins exist).
	loginPolicy = throttlePolicy{backoffAfter: 5, lockAfter: 20, maxDelay: time.Minute, lock: 15 * time.Minute, window: 24 * time.Hour}
	// addressPolicy throttles one client address across logins. An office behind one NAT shares it, so it
	// allows more; it stops one address from walking through many logins.
	addressPolicy = throttlePolicy{backoffAfter: 20, lockAfter: 100, maxDelay: time.Minute, lock: 15 * time.Minute, window: time.Hour}
)

// wait is how long after the last failure the next attempt must wait, after failures failures.
func (p throttlePolicy) wait(failures int) time.Duration {
	switch {
	case failures < p.backoffAfter:
		return 0
	case failures >= p.lockAfter:
		return p.lock
	}
	shift := min(failures-p.backoffAfter, 30)
	return min(time.Second<<shift, p.maxDelay)
}

// throttleKey is one counter an attempt counts against.
type throttleKey struct {
	key    []byte
	policy throttlePolicy
	// forgive says a success clears the counter (a login's, an employee's); an address's only takes the
	// attempt back, so that signing in to one's own account does not wipe out failures on others.
	forgive bool
	// what names the key in logs, masked.
	what string
}

func keyOf(kind, v string) []byte {
	h := sha256.Sum256([]byte(kind + "\x00" + v))
	return h[:]
}

func loginThrottle(login, masked string) throttleKey {
	return throttleKey{key: keyOf("login", login), policy: loginPolicy, forgive: true, what: "login " + masked}
}

func addressThrottle(addr string) throttleKey {
	return throttleKey{key: keyOf("address", addr), policy: addressPolicy, what: "address " + addr}
}

func employeeThrottle(id uuid.UUID) throttleKey {
	return throttleKey{key: keyOf("employee", id.String()), policy: loginPolicy, forgive: true, what: "employee " + id.String()}
}

// claim counts an attempt against every key as a failure before its password is checked (settle takes it
// back once the password proves right), so that concurrent guesses cannot all start before the first
// failure is written. When a key must still wait, it counts nothing and answers how long. The counters
// live in PostgreSQL, so every node applies the same ones.
func (s *Service) claim(ctx context.Context, keys []throttleKey) (time.Duration, error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b throttleKey) int { return bytes.Compare(a.key, b.key) })
	raw := make([][]byte, len(keys))
	for i, k := range keys {
		raw[i] = k.key
	}
	var wait time.Duration
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		q := authdb.New(tx)
		if err := q.InsertThrottleKeys(ctx, raw); err != nil {
			return err
		}
		rows, err := q.LockThrottle(ctx, raw)
		if err != nil {
			return err
		}
		if len(rows) != len(keys) {
			return fmt.Errorf("auth: %d throttle rows for %d keys", len(rows), len(keys))
		}
		now := s.now()
		next := make([]int, len(rows))
		for i, r := range rows {
			k := keys[i]
			failures := int(r.Failures)
			if r.LastFailureAt == nil || now.Sub(*r.LastFailureAt) >= k.policy.window {
				failures = 0
			}
			if failures > 0 {
				wait = max(wait, r.LastFailureAt.Add(k.policy.wait(failures)).Sub(now))
			}
			next[i] = failures + 1
		}
		if wait > 0 {
			return nil
		}
		for i, r := range rows {
			if err := q.SetThrottle(ctx, authdb.SetThrottleParams{Key: r.Key, Failures: int32(next[i]), LastFailureAt: &now}); err != nil {
				return err
			}
			if next[i] == keys[i].policy.lockAfter {
				s.log.WarnContext(ctx, "sign-in locked after repeated failures", "key", keys[i].what,
					"failures", next[i], "lock", keys[i].policy.lock)
			}
		}
		return nil
	})
	return wait, err
}

// settle ends an attempt that claim counted: a right password clears the login's counter and takes the
// attempt back from the address's; an attempt that never got to check a password (the server was busy)
// is taken back from all. A wrong password leaves the failure counted.
func (s *Service) settle(ctx context.Context, keys []throttleKey, rightPassword bool) {
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		q := authdb.New(tx)
		for _, k := range keys {
			var err error
			if rightPassword && k.forgive {
				err = q.ForgetFailures(ctx, k.key)
			} else {
				err = q.TakeBackFailure(ctx, k.key)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The attempt stays counted as a failure: a stricter limit, never a looser one.
		s.log.ErrorContext(ctx, "sign-in: settle the failure counters", "error", err)
	}
}

// throttled is the answer to an attempt that must wait: the same for every login, known or not.
func throttled(wait time.Duration) error {
	wait = max((wait + time.Second - 1).Truncate(time.Second), time.Second) // never sooner than it lifts
	return platform.RetryLater(fmt.Sprintf("too many failed sign-in attempts: try again in %s", wait), wait)
}
