package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/salesapp/scrm/backend/platform"
)

// Argon2Params are the argon2id parameters of new password hashes. Each hash records its own, so a
// password hashed under older ones still verifies and is rehashed under the current ones at its next
// sign-in.
type Argon2Params struct {
	// Time is the number of passes over the memory.
	Time uint32
	// MemoryKiB is the memory one hash fills, in KiB.
	MemoryKiB uint32
	// Threads is the number of lanes (each can take a core).
	Threads uint8
}

// DefaultArgon2 replaces a zero Argon2Params: 19 MiB, two passes, one lane, OWASP's configuration of
// that memory. One check costs about 48 ms of one core on the 2-core benchmark machine (BENCHMARKS.md):
// with hashing bound to one core there, ~20 sign-ins/s per node, and 10/s take half a core. 64 MiB with two
// passes (RFC 9106's second recommendation, one lane) costs 161 ms: 6 sign-ins/s per node at most, and 10/s
// would need 1.6 of the 2 cores. Raise them (SALESD_ARGON2_*) on bigger machines; hashes rehash as people
// sign in.
var DefaultArgon2 = Argon2Params{Time: 2, MemoryKiB: 19 << 10, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// phc is a parsed hash in the PHC string format: $argon2id$v=19$m=65536,t=2,p=1$<salt>$<key>, salt and
// key in unpadded standard base64.
type phc struct {
	params    Argon2Params
	salt, key []byte
}

var b64 = base64.RawStdEncoding

func (h phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.MemoryKiB, h.params.Time,
		h.params.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

var errBadHash = errors.New("not an argon2id hash this server can check")

// parsePHC reads a stored hash, refusing parameters far outside what this server makes (a damaged or
// planted row must not make one sign-in take minutes or gigabytes).
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, errBadHash
	}
	var h phc
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return phc{}, errBadHash
		}
		switch k {
		case "m":
			h.params.MemoryKiB = uint32(n)
		case "t":
			h.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return phc{}, errBadHash
			}
			h.params.Threads = uint8(n)
		default:
			return phc{}, errBadHash
		}
	}
	p := h.params
	if p.Time < 1 || p.Time > 64 || p.Threads < 1 || p.Threads > 16 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 4<<20 {
		return phc{}, errBadHash
	}
	var err1, err2 error
	h.salt, err1 = b64.DecodeString(parts[4])
	h.key, err2 = b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.salt) > 64 || len(h.key) < 16 || len(h.key) > 64 {
		return phc{}, errBadHash
	}
	return h, nil
}

// passwords hashes and verifies passwords, a bounded number at a time in this process. One argon2id hash
// takes one core for tens of milliseconds and MemoryKiB of memory: without a bound, a burst of sign-ins
// would take every core (and the memory) from everything else salesd serves. Callers wait for a slot in a
// queue of bounded length; past it they are told to retry.
type passwords struct {
	params Argon2Params
	slots  chan struct{}
	queue  int64
	// waiting counts the callers waiting for a slot.
	waiting atomic.Int64
	// dummy is a hash of nothing anybody knows, with the current parameters: what a login without a
	// password is checked against, so that it costs what a wrong password costs.
	dummy string
	// computed counts argon2id computations (verifications and new hashes): tests read it to see that an
	// unknown login and a wrong password do the same work.
	computed atomic.Int64
}

func newPasswords(params Argon2Params, slots, queue int) *passwords {
	if params == (Argon2Params{}) {
		params = DefaultArgon2
	}
	if slots <= 0 {
		slots = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if queue <= 0 {
		queue = 32
	}
	salt, key := make([]byte, saltLen), make([]byte, keyLen)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	return &passwords{params: params, slots: make(chan struct{}, slots), queue: int64(queue),
		dummy: phc{params: params, salt: salt, key: key}.String()}
}

// errBusy refuses a sign-in that would wait too long for a hashing slot.
var errBusy = platform.RetryLater("the server is busy checking other passwords: retry in a second", time.Second)

// acquire takes a hashing slot, waiting in the queue if it has room; release gives it back.
func (pw *passwords) acquire(ctx context.Context) (release func(), err error) {
	select {
	case pw.slots <- struct{}{}:
		return pw.release, nil
	default:
	}
	if pw.waiting.Add(1) > pw.queue {
		pw.waiting.Add(-1)
		return nil, errBusy
	}
	defer pw.waiting.Add(-1)
	select {
	case pw.slots <- struct{}{}:
		return pw.release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (pw *passwords) release() { <-pw.slots }

// hash makes a new hash of password with the current parameters. The caller holds a slot.
func (pw *passwords) hash(password string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	return phc{params: pw.params, salt: salt, key: pw.derive(password, salt, pw.params, keyLen)}.String()
}

// verify reports whether password matches the stored hash, and whether that hash should be remade with
// the current parameters. A hash it cannot read is checked as the dummy is (the same work) and fails.
// The caller holds a slot.
func (pw *passwords) verify(stored, password string) (ok, stale bool) {
	h, err := parsePHC(stored)
	if err != nil {
		h, _ = parsePHC(pw.dummy)
		stored = ""
	}
	key := pw.derive(password, h.salt, h.params, uint32(len(h.key)))
	ok = stored != "" && subtle.ConstantTimeCompare(key, h.key) == 1
	return ok, h.params != pw.params || len(h.salt) != saltLen || len(h.key) != keyLen
}

func (pw *passwords) derive(password string, salt []byte, p Argon2Params, n uint32) []byte {
	pw.computed.Add(1)
	return argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, n)
}

// HashPassword hashes password with argon2id under the current parameters, as employees' passwords are,
// taking a hashing slot (ResourceExhausted when the queue is full). For the platform's other accounts
// (operators).
func (s *Service) HashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.pw.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return s.pw.hash(password), nil
}

// CheckPassword reports whether password matches stored, a hash HashPassword made. An empty stored is
// checked against a dummy hash, so an unknown account costs what a wrong password costs.
func (s *Service) CheckPassword(ctx context.Context, stored, password string) (bool, error) {
	release, err := s.pw.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	ok, _ := s.pw.verify(stored, password)
	return ok, nil
}
