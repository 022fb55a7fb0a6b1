package replica

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The log file is the magic header followed by frames: a little-endian uint32 payload length, a
// little-endian uint32 CRC-32C of the payload, and the payload, one protobuf-encoded record.
const (
	logMagic        = "SCRMRPL1"
	frameHeaderSize = 8
	// maxRecordSize bounds a frame's length so that a corrupt length reads as a torn tail.
	maxRecordSize = 1 << 30
	// DefaultCompactMinBytes is the log size below which FileStore never compacts.
	DefaultCompactMinBytes = 8 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrNotAStore is returned by OpenFile for a file that is not a replica log.
var ErrNotAStore = errors.New("replica: not a replica log file")

// FileOptions tunes a FileStore.
type FileOptions struct {
	// NoSync skips fsync after each record: for tests and benchmarks only, as a power loss may then
	// lose records the store reported saved.
	NoSync bool
	// CompactMinBytes: the log is compacted when it is larger than this and more than twice the size
	// of a snapshot of the live state. Zero means DefaultCompactMinBytes.
	CompactMinBytes int64
}

// FileStore is a Store kept in an append-only log file. Each step is one CRC-checked record, synced
// before the step returns; opening replays the log and cuts off a torn or corrupt tail (a step a crash
// interrupted), but refuses a log holding a record whose checksum is right and which still does not
// decode (written by a newer version, or a bug): cutting there would lose the records after it. When
// the log outgrows twice the live state it is rewritten as one snapshot record into a temporary file
// that is synced and renamed over the log.
type FileStore struct{ core }

// OpenFile opens the FileStore at path, creating it if it does not exist, and replays its log.
func OpenFile(path string, opts FileOptions) (*FileStore, error) {
	if opts.CompactMinBytes <= 0 {
		opts.CompactMinBytes = DefaultCompactMinBytes
	}
	// A compaction that did not reach its rename left a temporary file: the log is still whole.
	if err := os.Remove(compactPath(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("replica: remove stale compaction file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("replica: open log: %w", err)
	}
	l := &logFile{path: path, f: f, noSync: opts.NoSync, compactMin: opts.CompactMinBytes, open: os.OpenFile}
	s := &FileStore{core{st: newState(), log: l}}
	if err := l.replay(&s.st); err != nil {
		_ = f.Close()
		return nil, err
	}
	return s, nil
}

// Path returns the log file's path.
func (s *FileStore) Path() string { return s.log.path }

// DroppedBytes returns how many bytes of torn or corrupt tail opening the log cut off.
func (s *FileStore) DroppedBytes() int64 { return s.log.dropped }

// Size returns the log file's current size in bytes.
func (s *FileStore) Size() int64 {
	return read(&s.core, func(*state) int64 { return s.log.size })
}

// Compact rewrites the log as one snapshot record now.
func (s *FileStore) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.log.compact(&s.st)
}

func compactPath(path string) string { return path + ".compact" }

// logFile is the file side of a FileStore; its owner's mutex guards it.
type logFile struct {
	path       string
	f          *os.File
	size       int64
	dropped    int64
	noSync     bool
	compactMin int64
	// err is set when a failed write may have left a partial frame: appending after it would hide
	// the records that follow, so the store refuses further writes until it is reopened. It wraps
	// ErrClosed.
	err error
	buf []byte
	// open reopens the log after a compaction: os.OpenFile, or a failure injected by a test.
	open func(name string, flag int, perm os.FileMode) (*os.File, error)
}

// replay reads the log into st, cuts off a torn tail and leaves the file positioned for appends. It
// refuses a file that is not a log and a log with a record that passes its checksum but does not decode.
func (l *logFile) replay(st *state) error {
	data, err := io.ReadAll(l.f)
	if err != nil {
		return fmt.Errorf("replica: read log: %w", err)
	}
	if len(data) < len(logMagic) {
		if !strings.HasPrefix(logMagic, string(data)) {
			return fmt.Errorf("%w: %s", ErrNotAStore, l.path)
		}
		// New, or a crash while writing the header of a new file: nothing was stored yet.
		if err := l.rewriteHeader(); err != nil {
			return err
		}
		l.dropped = int64(len(data))
		return nil
	}
	if string(data[:len(logMagic)]) != logMagic {
		return fmt.Errorf("%w: %s", ErrNotAStore, l.path)
	}
	off := len(logMagic)
	for {
		payload, next, ok := readFrame(data, off)
		if !ok {
			break
		}
		rec, err := decodeRecord(payload)
		if err != nil {
			// Not a torn write (its checksum is right): cutting here would drop it and every record
			// after it, queued mutations among them.
			return fmt.Errorf("replica: %s: record at offset %d: %w", l.path, off, err)
		}
		st.apply(rec)
		off = next
	}
	l.size = int64(off)
	if off < len(data) {
		l.dropped = int64(len(data) - off)
		if err := l.f.Truncate(int64(off)); err != nil {
			return fmt.Errorf("replica: cut torn tail: %w", err)
		}
		if err := l.sync(); err != nil {
			return err
		}
	}
	if _, err := l.f.Seek(l.size, io.SeekStart); err != nil {
		return fmt.Errorf("replica: seek log: %w", err)
	}
	return nil
}

// readFrame returns the payload of the frame at off and the offset after it, or false if the frame is
// incomplete or its checksum does not match.
func readFrame(data []byte, off int) ([]byte, int, bool) {
	if len(data)-off < frameHeaderSize {
		return nil, 0, false
	}
	n := binary.LittleEndian.Uint32(data[off:])
	sum := binary.LittleEndian.Uint32(data[off+4:])
	if n > maxRecordSize || uint64(len(data)-off-frameHeaderSize) < uint64(n) {
		return nil, 0, false
	}
	payload := data[off+frameHeaderSize : off+frameHeaderSize+int(n)]
	if crc32.Checksum(payload, crcTable) != sum {
		return nil, 0, false
	}
	return payload, off + frameHeaderSize + int(n), true
}

func (l *logFile) rewriteHeader() error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("replica: init log: %w", err)
	}
	if _, err := l.f.WriteAt([]byte(logMagic), 0); err != nil {
		return fmt.Errorf("replica: init log: %w", err)
	}
	if err := l.sync(); err != nil {
		return err
	}
	l.size = int64(len(logMagic))
	if _, err := l.f.Seek(l.size, io.SeekStart); err != nil {
		return fmt.Errorf("replica: init log: seek past the header: %w", err)
	}
	return nil
}

// frame encodes rec as one frame into b (reused) and returns it.
func frame(b []byte, rec *record) ([]byte, error) {
	b = append(b[:0], 0, 0, 0, 0, 0, 0, 0, 0) // length and checksum, filled below
	b, err := appendRecord(b, rec)
	if err != nil {
		return nil, err
	}
	payload := b[frameHeaderSize:]
	if len(payload) > maxRecordSize {
		return nil, fmt.Errorf("replica: record of %d bytes is too large", len(payload))
	}
	binary.LittleEndian.PutUint32(b, uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(payload, crcTable))
	return b, nil
}

// append writes rec as one frame and syncs it.
func (l *logFile) append(rec *record) error {
	if l.err != nil {
		return l.err
	}
	b, err := frame(l.buf, rec)
	if err != nil {
		return err
	}
	// Keep the buffer for the next page, but not a snapshot-sized one.
	if cap(b) <= 4<<20 {
		l.buf = b
	} else {
		l.buf = nil
	}
	if _, err := l.f.Write(b); err != nil {
		return l.fail(fmt.Errorf("replica: write log: %w", err))
	}
	if err := l.sync(); err != nil {
		return l.fail(err)
	}
	l.size += int64(len(b))
	return nil
}

// fail makes the log refuse every later write (a failed write may have left a partial frame, a failed
// compaction no open file) and returns the error it refuses them with, which wraps ErrClosed and err.
func (l *logFile) fail(err error) error {
	l.err = fmt.Errorf("%w by a failed write, reopen it: %w", ErrClosed, err)
	return l.err
}

func (l *logFile) sync() error {
	if l.noSync {
		return nil
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("replica: sync log: %w", err)
	}
	return nil
}

// maybeCompact compacts the log when it has outgrown the live state. It runs after a record was
// written and applied, so it reports nothing: that step succeeded. A compaction that fails before its
// rename leaves the old log whole and open (only a larger file; the next write tries again); one that
// fails after it leaves l.err set, and the next write fails with it.
func (l *logFile) maybeCompact(st *state) {
	if l.size < l.compactMin || l.size <= 2*(st.liveBytes+int64(len(logMagic))) {
		return
	}
	_ = l.compact(st)
}

// compact replaces the log by a snapshot of st: written to a temporary file, synced, renamed over the
// log, and the directory synced, so that a crash leaves either the old log or the new one.
func (l *logFile) compact(st *state) error {
	if l.err != nil {
		return l.err
	}
	tmp := compactPath(l.path)
	size, err := l.writeSnapshot(tmp, st)
	if err == nil {
		err = os.Rename(tmp, l.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("replica: compact log: %w", err)
	}
	if !l.noSync {
		if d, err := os.Open(filepath.Dir(l.path)); err == nil {
			_ = d.Sync()
			_ = d.Close()
		}
	}
	_ = l.f.Close()
	f, err := l.open(l.path, os.O_RDWR, 0o600)
	if err == nil {
		if _, err = f.Seek(size, io.SeekStart); err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		l.f = nil // closed above; l.err keeps every later write from reaching it
		return l.fail(fmt.Errorf("replica: reopen compacted log: %w", err))
	}
	l.f, l.size = f, size
	return nil
}

func (l *logFile) writeSnapshot(path string, st *state) (int64, error) {
	b, err := frame(nil, st.snapshot())
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	_, err = f.Write([]byte(logMagic))
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil && !l.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return int64(len(logMagic) + len(b)), err
}

func (l *logFile) close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
