package web

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
)

// DefaultCacheBytes bounds what a node keeps of pages when Deps.CacheBytes is 0.
const DefaultCacheBytes = 64 << 20

// pageCache keeps the parts pages are made of (share links by token, cards by salesperson, materials by
// id) for ttl, within a budget of bytes. Parts are cached per card and per material, not per link: a
// flood of distinct forward links to one 200 KB article costs one article plus a small share record per
// link, and the least recently used parts leave first when the budget is spent. Loads of one key run once
// at a time (singleflight), so a burst of opens of a fresh link reads the database once.
type pageCache struct {
	lru   *expirable.LRU[string, sized]
	mu    sync.Mutex // serializes add-and-trim, so the budget holds after every add
	bytes atomic.Int64
	max   int64
	group singleflight.Group
	// loads counts loads that reached the database (tests read it).
	loads atomic.Int64
}

// sized is a cached part with its estimated size in bytes.
type sized struct {
	v    any
	size int64
}

// newPageCache makes a cache; a ttl of 0 makes one that keeps nothing (every open reads the database).
func newPageCache(ttl time.Duration, maxBytes int64) *pageCache {
	if ttl <= 0 {
		return &pageCache{}
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	c := &pageCache{max: maxBytes}
	// The LRU itself is unbounded in entries (size 0): the byte budget bounds it. onEvict runs on
	// removals and on expiry, under the LRU's lock, so it only does arithmetic.
	c.lru = expirable.NewLRU(0, func(_ string, v sized) { c.bytes.Add(-v.size) }, ttl)
	return c
}

// get returns the part under key, loading it on a miss. Failed loads are not cached: a link that failed
// is looked up again next time.
func get[T any](ctx context.Context, c *pageCache, key string, load func(context.Context) (T, int64, error)) (T, error) {
	if c.lru != nil {
		if v, ok := c.lru.Get(key); ok {
			return v.v.(T), nil
		}
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		// A waiter of an earlier flight may arrive after it stored the part.
		if c.lru != nil {
			if v, ok := c.lru.Get(key); ok {
				return v.v, nil
			}
		}
		c.loads.Add(1)
		// The load serves every waiter, so one caller's cancellation must not fail the others.
		v, size, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		c.put(key, v, size)
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// has reports whether key is cached and unexpired (get will not load it), without counting as a use.
func (c *pageCache) has(key string) bool {
	if c.lru == nil {
		return false
	}
	_, ok := c.lru.Peek(key) // Contains would count an expired entry not yet purged
	return ok
}

// put stores a part and evicts the least recently used ones until the budget holds. A part larger than
// the whole budget is not kept.
func (c *pageCache) put(key string, v any, size int64) {
	if c.lru == nil || size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(key) // a replaced part's bytes leave through onEvict
	c.lru.Add(key, sized{v: v, size: size})
	c.bytes.Add(size)
	for c.bytes.Load() > c.max {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// usage reports the cached parts and their bytes.
func (c *pageCache) usage() (entries int, bytes int64) {
	if c.lru == nil {
		return 0, 0
	}
	return c.lru.Len(), c.bytes.Load()
}
