package replica

import (
	"fmt"
	"path/filepath"
	"testing"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
)

// The first-sync target: 10,000 customers and 100,000 timeline entries, in pages of 1000.
const (
	benchCustomers = 10_000
	benchTimeline  = 100_000
	benchPageSize  = 1000
)

func benchPages() [][]*salesappv1.Change {
	var all []*salesappv1.Change
	for i := range benchCustomers {
		all = append(all, testCustomer(i))
	}
	for i := range benchTimeline {
		all = append(all, testTimeline(i, testEpoch))
	}
	var pages [][]*salesappv1.Change
	for len(all) > 0 {
		n := min(len(all), benchPageSize)
		pages = append(pages, all[:n])
		all = all[n:]
	}
	return pages
}

// BenchmarkFileStoreFirstSync saves the first sync's 110 pages of 1000 changes, each page with its
// cursor as one record, into a new FileStore; one op is the whole first sync.
func BenchmarkFileStoreFirstSync(b *testing.B) {
	pages := benchPages()
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", noSync), func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				s, err := OpenFile(filepath.Join(dir, fmt.Sprint(n, ".log")), FileOptions{NoSync: noSync})
				if err != nil {
					b.Fatal(err)
				}
				for i, p := range pages {
					if err := s.SavePage(p, fmt.Sprint("cursor-", i), 0); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(pages)), "µs/page")
		})
	}
}

// BenchmarkFileStoreReopen replays the log of a first sync: an app's start after it.
func BenchmarkFileStoreReopen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "r.log")
	s, err := OpenFile(path, FileOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	for i, p := range benchPages() {
		if err := s.SavePage(p, fmt.Sprint("cursor-", i), 0); err != nil {
			b.Fatal(err)
		}
	}
	_ = s.Close()
	b.ReportAllocs()
	for b.Loop() {
		s, err := OpenFile(path, FileOptions{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		if s.Len() != benchCustomers+benchTimeline {
			b.Fatalf("reopened with %d entities", s.Len())
		}
		_ = s.Close()
	}
}

// BenchmarkClientFirstSync is the first sync end to end against the in-process fake server over
// HTTP (binary Connect), saving into a synced FileStore. The fake answers from memory, so this is the
// client's share of the 3-second target; cmd/salesbench measures it against the real server.
func BenchmarkClientFirstSync(b *testing.B) {
	fs := newFakeServer()
	fs.mu.Lock()
	for _, p := range benchPages() {
		for _, c := range p {
			fs.put(c)
		}
	}
	fs.mu.Unlock()
	srv := fs.start(b)
	dir := b.TempDir()
	for _, pageSize := range []uint32{1000, 5000} {
		b.Run(fmt.Sprint("page=", pageSize), func(b *testing.B) {
			n := 0
			for b.Loop() {
				n++
				s, err := OpenFile(filepath.Join(dir, fmt.Sprint(pageSize, "-", n, ".log")), FileOptions{})
				if err != nil {
					b.Fatal(err)
				}
				c := newTestClient(b, srv, s, WithPageSize(pageSize))
				rep, err := c.Sync(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if s.Len() != benchCustomers+benchTimeline {
					b.Fatalf("synced %d entities in %d pages", s.Len(), rep.Pages)
				}
				_ = c.Close()
			}
		})
	}
}
