// Package replica is the reference client for SyncService: it keeps a device's local replica of the
// entities in its scopes, fed only by Pull, and an outbox of numbered mutations, drained by Push.
//
// The replica is exactly what pulls delivered: the client keeps no optimistic overlay. An app applies
// its own edits optimistically in its UI model and lets the next pull replace them with the server's
// truth; this package stays small so that it can serve as the executable description of the protocol
// in mobile-contracts/sync.md and as the device model of the convergence tests.
//
// Everything the client must not lose lives in a Store. FileStore keeps it in an append-only log of
// CRC-checked protobuf records, one record per page together with its cursor, so that a crash leaves
// either the page and its cursor or neither.
package replica
