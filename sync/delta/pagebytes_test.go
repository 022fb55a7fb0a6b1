package delta

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// A page of large articles ends at the byte budget, with more to come, and the pages after it bring every
// article once: the budget shortens pages, it never skips or repeats a change.
func TestPagesEndAtTheirByteBudgetAndSkipNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.engine.pageBytes = 1 << 20
	body := strings.Repeat("<p>种植牙的十个问题</p>", 150_000/len("<p>种植牙的十个问题</p>")) // about 150 KB
	const articles = 40                                                       // 6 MB in all
	want := map[uuid.UUID]bool{}
	for range articles {
		id := uuid.New()
		want[id] = true
		f.owner(t, `INSERT INTO materials (id, tenant_id, tier, kind, status, title, body_html, published_at)
			VALUES ($1, $2, 'enterprise', 'article', 'published', 'Implants', $3, now())`, id, f.p.TenantID, body)
	}

	seen := map[uuid.UUID]int{}
	cursor, pages := "", 0
	for {
		page := f.pull(t, cursor, MaxPageSize)
		pages++
		size := 0
		for _, c := range page.Changes {
			size += c.wireBytes()
			if c.Kind == KindMaterial {
				seen[c.ID]++
				require.Len(t, c.Entity.(*Material).BodyHTML, len(body), "an article arrives whole")
			}
		}
		require.LessOrEqual(t, size, f.engine.pageBytes, "page %d is over its byte budget", pages)
		require.NotEqual(t, cursor, page.NextCursor)
		cursor = page.NextCursor
		if !page.HasMore {
			break
		}
		require.Less(t, pages, 100)
	}
	require.Greater(t, pages, 6, "6 MB of articles in pages of 1 MB")
	require.Len(t, seen, articles)
	for id, n := range seen {
		require.True(t, want[id])
		require.Equal(t, 1, n, "article %s arrived %d times", id, n)
	}

	// One change larger than the budget still goes, alone.
	f.engine.pageBytes = 1000
	big := uuid.New()
	f.owner(t, `INSERT INTO materials (id, tenant_id, tier, kind, status, title, body_html, published_at)
		VALUES ($1, $2, 'enterprise', 'article', 'published', 'Big', $3, now())`, big, f.p.TenantID, body)
	page := f.pull(t, cursor, MaxPageSize)
	_, ok := find(page.Changes, KindMaterial, big)
	require.True(t, ok, "a change over the budget is sent in a page of its own")
}
