package auth

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkArgon2id is the cost of checking one password (what one sign-in hashes), under the default
// parameters and a few others for comparison. BENCHMARKS.md has the figures.
func BenchmarkArgon2id(b *testing.B) {
	for _, p := range []Argon2Params{
		DefaultArgon2,
		{Time: 1, MemoryKiB: 46 << 10, Threads: 1},
		{Time: 1, MemoryKiB: 64 << 10, Threads: 1},
		{Time: 2, MemoryKiB: 64 << 10, Threads: 1},
		{Time: 3, MemoryKiB: 64 << 10, Threads: 1},
		{Time: 2, MemoryKiB: 64 << 10, Threads: 2},
	} {
		b.Run(fmt.Sprintf("m=%dMiB,t=%d,p=%d", p.MemoryKiB>>10, p.Time, p.Threads), func(b *testing.B) {
			pw := newPasswords(p, 1, 1)
			stored := pw.hash("correct horse battery staple")
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := pw.verify(stored, "correct horse battery staple"); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkArgon2idBounded checks passwords from many goroutines at once through the hashing slots (half
// the cores): ns/op is the time per sign-in's hash at the bound, so 1e9/ns is sign-ins/s per node.
func BenchmarkArgon2idBounded(b *testing.B) {
	pw := newPasswords(DefaultArgon2, 0, 1<<20)
	stored := pw.hash("correct horse battery staple")
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			release, err := pw.acquire(context.Background())
			if err != nil {
				b.Error(err)
				return
			}
			pw.verify(stored, "correct horse battery staple")
			release()
		}
	})
}
