package delta

import (
	"errors"
	"fmt"
)

// ErrBadCursor is a cursor string this engine did not make. A pull given one is not refused: it answers
// MustReset, so the app starts over rather than stop syncing.
var ErrBadCursor = errors.New("delta: malformed cursor")

// SchemaError refuses a pull or push from an app whose local schema version this server does not sync
// with: the app (or the server) must be updated first. Its message is fit for the app.
type SchemaError struct {
	// Version is the app's; Min and Max bound what this server accepts.
	Version, Min, Max uint32
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("schema version %d is not supported: this server accepts %d to %d", e.Version, e.Min, e.Max)
}

// BatchError refuses a push whose mutations, taken together, break the numbering (1 to MaxPushMutations
// of them, with consecutive ids from 1 up). Nothing of the push is applied.
type BatchError struct {
	// Index is the mutation at fault, or -1 when it is the list as a whole (empty or too long).
	Index int
	// Reason says what is wrong, fit for the app.
	Reason string
}

func (e *BatchError) Error() string {
	if e.Index < 0 {
		return "delta: push: " + e.Reason
	}
	return fmt.Sprintf("delta: push: mutation %d: %s", e.Index, e.Reason)
}

// The mismatches a *MismatchError wraps.
var (
	// ErrReusedID: a mutation id answered before now names a different change.
	ErrReusedID = errors.New("delta: mutation id reused for a different change")
	// ErrGap: the push's first new mutation does not follow the device's last one.
	ErrGap = errors.New("delta: mutation ids skip ahead of the device's last one")
)

// MismatchError refuses a push whose ids do not continue the server's record of the device: the device
// id belongs to another installation (a fresh install reusing it, or a store restored from a backup).
// Nothing of the push is applied; the app must sign in again as a new installation. Its message says so
// and is fit for the app.
type MismatchError struct {
	// Err is ErrReusedID or ErrGap.
	Err error
	// ID is the mutation sent: the reused id, or the first new one.
	ID uint64
	// Next is the id the server expects next (for ErrGap).
	Next uint64
}

func (e *MismatchError) Error() string {
	if errors.Is(e.Err, ErrGap) {
		return fmt.Sprintf("mutation %d is next for this device, not %d: the app's outbox and the server's record of this device id disagree (the id reused by another installation, or a store restored from a backup); stop pushing and sign in again as a new installation, with a new device id", e.Next, e.ID)
	}
	return fmt.Sprintf("mutation %d of this device id was a different change: the id belongs to another installation (or a store restored from a backup); stop pushing and sign in again as a new installation, with a new device id", e.ID)
}

func (e *MismatchError) Unwrap() error { return e.Err }
