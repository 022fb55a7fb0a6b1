package wechat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/wechat/internal/wechatdb"
)

// Store is Shared in PostgreSQL (table wechat_credentials): every node reads the same access token and
// ticket, and one node at a time refreshes a stale one while holding its row's lock, so WeChat sees one fetch
// however many nodes noticed. The lock is held across the HTTP call to WeChat, which tokenFetchTimeout bounds.
type Store struct{ db *platform.DB }

// NewStore keeps credentials in db.
func NewStore(db *platform.DB) *Store { return &Store{db: db} }

var _ Shared = (*Store)(nil)

// Get implements Shared.
func (s *Store) Get(ctx context.Context, appID, kind string, fresh func(Credential) bool, fetch func(context.Context) (Credential, error)) (Credential, error) {
	q := wechatdb.New(s.db.Pool)
	row, err := q.GetCredential(ctx, wechatdb.GetCredentialParams{AppID: appID, Kind: kind})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Credential{}, fmt.Errorf("wechat %s: read the shared store: %w", kind, err)
	}
	if c := credentialOf(row.Value, row.FetchedAt, row.ExpiresAt); err == nil && fresh(c) {
		return c, nil
	}
	var out Credential
	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		q := wechatdb.New(tx)
		if err := q.EnsureCredential(ctx, wechatdb.EnsureCredentialParams{AppID: appID, Kind: kind}); err != nil {
			return err
		}
		row, err := q.LockCredential(ctx, wechatdb.LockCredentialParams{AppID: appID, Kind: kind})
		if err != nil {
			return err
		}
		// Another node may have refreshed it while this one waited for the lock.
		if c := credentialOf(row.Value, row.FetchedAt, row.ExpiresAt); fresh(c) {
			out = c
			return nil
		}
		if out, err = fetch(ctx); err != nil {
			return err
		}
		return q.StoreCredential(ctx, wechatdb.StoreCredentialParams{AppID: appID, Kind: kind, Value: out.Value,
			FetchedAt: &out.FetchedAt, ExpiresAt: out.ExpiresAt})
	})
	if err != nil {
		return Credential{}, fmt.Errorf("wechat %s: %w", kind, err)
	}
	return out, nil
}

// Invalidate implements Shared.
func (s *Store) Invalidate(ctx context.Context, appID, kind, value string) error {
	return wechatdb.New(s.db.Pool).InvalidateCredential(ctx, wechatdb.InvalidateCredentialParams{AppID: appID, Kind: kind, Value: value})
}

func credentialOf(value string, fetchedAt *time.Time, expiresAt time.Time) Credential {
	c := Credential{Value: value, ExpiresAt: expiresAt}
	if fetchedAt != nil {
		c.FetchedAt = *fetchedAt
	}
	return c
}
