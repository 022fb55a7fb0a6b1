package wecom

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform/batch"
	"github.com/salesapp/scrm/backend/wecom/internal/wecomdb"
	"github.com/salesapp/scrm/backend/wecom/wecomcrypt"
)

// A callback is acknowledged once its event and its job are committed. Committing each alone cost a
// transaction of five round trips and a flush per callback, which at 500 callbacks/s held both cores; so
// callbacks are stored in groups (platform/batch): each batch is one transaction per tenant, one
// INSERT of its events and one insert of their jobs (an event group each, processed together: see
// DispatchArgs), and answers every callback in it after the commit. A batch lingers storeLinger for more
// callbacks after its first: with four workers and no linger a batch at 500 callbacks/s was about two
// callbacks, and the transactions and jobs of such small groups (storing and processing) held the CPU
// that the acknowledgements waited for (p99 89 to 177 ms; with the linger 36 to 44 ms). A lone callback
// waits the linger, well within WeCom's 5 s. The tenant's callback keys are kept opened for a minute
// (keyCache) rather than read and unsealed per callback.

// storeWorkers is how many batches may commit at once; storeMax bounds a batch.
const (
	storeWorkers = 2
	storeMax     = 500
	storeLinger  = 10 * time.Millisecond
	// storeTimeout bounds one batch's transactions (the callers' contexts differ, and WeCom waits 5 s).
	storeTimeout = 10 * time.Second
)

// event is one checked, decrypted callback to store.
type event struct {
	tenantID uuid.UUID
	dedupKey string
	kind     Kind
	xml      string
}

func (s *Service) newStore() *batch.Batcher[event, struct{}] {
	return batch.New(batch.Options[event]{Workers: storeWorkers, Max: storeMax, Linger: storeLinger}, s.storeBatch)
}

// storeBatch stores a batch of events, one transaction per tenant, and answers each event's call.
func (s *Service) storeBatch(calls []*batch.Call[event, struct{}]) {
	byTenant := map[uuid.UUID][]*batch.Call[event, struct{}]{}
	var order []uuid.UUID
	for _, c := range calls {
		t := c.In.tenantID
		if _, ok := byTenant[t]; !ok {
			order = append(order, t)
		}
		byTenant[t] = append(byTenant[t], c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	for _, t := range order {
		cs := byTenant[t]
		err := s.db.InTenantTx(ctx, t, func(tx pgx.Tx) error { return s.storeTx(ctx, tx, t, cs) })
		for _, c := range cs {
			c.Answer(struct{}{}, err)
		}
	}
}

func (s *Service) storeTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, cs []*batch.Call[event, struct{}]) error {
	p := wecomdb.InsertEventsParams{TenantID: tenantID}
	for _, c := range cs {
		p.Ids = append(p.Ids, uuid.New())
		p.DedupKeys = append(p.DedupKeys, c.In.dedupKey)
		p.MsgTypes = append(p.MsgTypes, c.In.kind.MsgType)
		p.Events = append(p.Events, c.In.kind.Event)
		p.ChangeTypes = append(p.ChangeTypes, c.In.kind.ChangeType)
		p.Xmls = append(p.Xmls, c.In.xml)
	}
	ids, err := wecomdb.New(tx).InsertEvents(ctx, p)
	if err != nil || len(ids) == 0 {
		return err // none new: resends of stored events, acknowledged again with nothing queued
	}
	return s.enqueueTx(ctx, tx, tenantID, ids)
}

// callbackKeys are a tenant's opened callback keys.
type callbackKeys struct {
	crypter *wecomcrypt.Crypter
	corpID  string
}

// keyCacheTTL is how long opened keys are used before they are read again; a callback that fails to
// verify with cached keys is tried once more with keys read afresh, so a key changed on another node
// costs a read, not a refusal.
const keyCacheTTL = time.Minute

func newKeyCache() *expirable.LRU[uuid.UUID, callbackKeys] {
	return expirable.NewLRU[uuid.UUID, callbackKeys](10_000, nil, keyCacheTTL)
}

// keys returns the tenant's callback keys, from the cache when fresh is not set; cached says they came
// from it.
func (s *Service) keys(ctx context.Context, tenantID uuid.UUID, fresh bool) (k callbackKeys, cached bool, err error) {
	if !fresh {
		if k, ok := s.keyCache.Get(tenantID); ok {
			return k, true, nil
		}
	}
	err = s.db.InTenantSnapshot(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		k.crypter, k.corpID, err = s.crypterTx(ctx, tx, tenantID)
		return err
	})
	if err != nil {
		return callbackKeys{}, false, err
	}
	s.keyCache.Add(tenantID, k)
	return k, false, nil
}

// decrypt checks and opens a callback's message with the tenant's keys, reading them afresh once when
// cached keys refuse it.
func (s *Service) decrypt(ctx context.Context, tenantID uuid.UUID, signature, timestamp, nonce, encrypted string) ([]byte, error) {
	k, cached, err := s.keys(ctx, tenantID, false)
	if err != nil {
		return nil, err
	}
	plain, err := k.crypter.Decrypt(signature, timestamp, nonce, encrypted, k.corpID)
	if err != nil && cached && (errors.Is(err, wecomcrypt.ErrSignature) || errors.Is(err, wecomcrypt.ErrReceiveID) ||
		errors.Is(err, wecomcrypt.ErrDecrypt)) {
		if k, _, err = s.keys(ctx, tenantID, true); err != nil {
			return nil, err
		}
		plain, err = k.crypter.Decrypt(signature, timestamp, nonce, encrypted, k.corpID)
	}
	return plain, cryptRefusal(err)
}
