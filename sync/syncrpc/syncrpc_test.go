package syncrpc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/sync/delta"
)

func TestMutationConvertsAndValidates(t *testing.T) {
	t.Parallel()
	add := &salesappv1.AddNote{NoteId: "6f1c2e1a-7d1b-4c55-9a39-2f0f3b7f0c11", CustomerId: "0b8f8a77-2a55-4d0e-8f5e-3f1d8a3c9b21",
		Kind: "note", Body: "met at the fair"}
	m := &salesappv1.Mutation{Id: 7, Op: &salesappv1.Mutation_AddNote{AddNote: add}}
	got, err := mutation(m)
	require.NoError(t, err)
	require.EqualValues(t, 7, got.ID)
	require.Equal(t, "add_note", got.Op)
	require.True(t, proto.Equal(add, got.Payload), "the op's own message, for its applier")
	require.Nil(t, got.Invalid)
	// The engine keeps sha256(Content)[:16] with each outcome, and compares a resend's with it: Content
	// must stay the deterministic encoding of the whole Mutation, as digests recorded so far were made
	// of. (This digest was recorded by the engine before it took delta's own types.)
	sum := sha256.Sum256(got.Content)
	require.Equal(t, "f8c3b61452c698797fae2e0e8afcb925", hex.EncodeToString(sum[:16]))

	// A field breaking its rule: rejected on its own, naming the field as the app knows it.
	bad := proto.Clone(m).(*salesappv1.Mutation)
	bad.GetAddNote().NoteId = "not-a-uuid"
	got, err = mutation(bad)
	require.NoError(t, err)
	require.Equal(t, "add_note", got.Op)
	require.NotNil(t, got.Invalid)
	require.Equal(t, platform.KindInvalid, got.Invalid.Kind)
	require.Equal(t, "add_note.note_id", got.Invalid.Field)
	require.NotEmpty(t, got.Invalid.Message)

	// No op this server can read (an app newer than the server): the engine rejects it as unknown.
	got, err = mutation(&salesappv1.Mutation{Id: 8})
	require.NoError(t, err)
	require.Empty(t, got.Op)
	require.Nil(t, got.Payload)
}

func TestEngineErrorsKeepTheirCodesAndMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		code connect.Code
		msg  string
	}{
		{&delta.SchemaError{Version: 99, Min: 1, Max: 1}, connect.CodeFailedPrecondition, "schema version 99 is not supported: this server accepts 1 to 1"},
		{&delta.BatchError{Index: -1, Reason: "1 to 500 mutations"}, connect.CodeInvalidArgument, "mutations: 1 to 500 mutations"},
		{&delta.BatchError{Index: 0, Reason: "ids start at 1"}, connect.CodeInvalidArgument, "mutations[0].id: ids start at 1"},
		{&delta.BatchError{Index: 1, Reason: "ids must be consecutive"}, connect.CodeInvalidArgument, "mutations[1].id: ids must be consecutive"},
		{&delta.MismatchError{Err: delta.ErrReusedID, ID: 1}, connect.CodeFailedPrecondition, (&delta.MismatchError{Err: delta.ErrReusedID, ID: 1}).Error()},
		{&delta.MismatchError{Err: delta.ErrGap, ID: 8, Next: 6}, connect.CodeFailedPrecondition, (&delta.MismatchError{Err: delta.ErrGap, ID: 8, Next: 6}).Error()},
	} {
		err := toConnect(tc.err)
		require.Equal(t, tc.code, connect.CodeOf(err), tc.msg)
		var ce *connect.Error
		require.ErrorAs(t, err, &ce)
		require.Equal(t, tc.msg, ce.Message())
	}
	require.Contains(t, toConnect(&delta.MismatchError{Err: delta.ErrGap, ID: 8, Next: 6}).Error(), "mutation 6 is next for this device, not 8")
	// Anything else is left to the server's error interceptor, which logs the cause.
	other := errors.New("connection reset")
	require.Same(t, other, toConnect(other))
}

func TestResultsAnswerWithConnectCodeNames(t *testing.T) {
	t.Parallel()
	require.True(t, proto.Equal(&salesappv1.MutationResult{Id: 1, Outcome: salesappv1.MutationResult_OUTCOME_APPLIED},
		mutationResult(delta.Result{ID: 1, Outcome: delta.Applied, Replayed: true})))
	require.True(t, proto.Equal(&salesappv1.MutationResult{Id: 2, Outcome: salesappv1.MutationResult_OUTCOME_LOST, Code: "not_found", Message: "note not found"},
		mutationResult(delta.Result{ID: 2, Outcome: delta.Lost, Reason: &delta.Reason{Kind: platform.KindNotFound, Message: "note not found"}})))
	require.True(t, proto.Equal(&salesappv1.MutationResult{Id: 3, Outcome: salesappv1.MutationResult_OUTCOME_REJECTED, Code: "invalid_argument", Field: "add_note.body", Message: "x"},
		mutationResult(delta.Result{ID: 3, Outcome: delta.Rejected, Reason: &delta.Reason{Kind: platform.KindInvalid, Field: "add_note.body", Message: "x"}})))
}

func TestPageConverts(t *testing.T) {
	t.Parallel()
	require.True(t, proto.Equal(&salesappv1.PullResponse{MustReset: true}, pullResponse(delta.Page{MustReset: true})))

	at := time.Date(2024, 5, 1, 8, 30, 0, 0, time.UTC)
	cust, note, mat, owner := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	got := pullResponse(delta.Page{NextCursor: "c", HasMore: true, LastMutationID: 4, RetryAfter: 250 * time.Millisecond, Changes: []delta.Change{
		{Kind: delta.KindCustomer, ID: cust, Entity: &delta.Customer{ID: cust, OwnerID: owner, ReadOnly: true, DisplayName: "Ms Li", Tags: []string{"vip"}, DwellMs: 1500, FirstSeenAt: at, LastActiveAt: at}},
		{Kind: delta.KindNote, ID: note, Deleted: true},
		{Kind: delta.KindMaterial, ID: mat, Entity: &delta.Material{ID: mat, Tier: "enterprise", FolderID: uuid.NullUUID{}, PublishedAt: &at}},
	}})
	want := &salesappv1.PullResponse{NextCursor: "c", HasMore: true, LastMutationId: 4, RetryAfterMs: 250, Changes: []*salesappv1.Change{
		{Kind: salesappv1.EntityKind_ENTITY_KIND_CUSTOMER, Id: cust.String(), Entity: &salesappv1.Change_Customer{Customer: &salesappv1.SyncCustomer{
			Id: cust.String(), DisplayName: "Ms Li", Tags: []string{"vip"}, DwellMs: 1500, FirstSeenAt: timestamppb.New(at), LastActiveAt: timestamppb.New(at),
			OwnerId: owner.String(), ReadOnly: true}}},
		{Kind: salesappv1.EntityKind_ENTITY_KIND_NOTE, Id: note.String(), Deleted: true},
		{Kind: salesappv1.EntityKind_ENTITY_KIND_MATERIAL, Id: mat.String(), Entity: &salesappv1.Change_Material{Material: &salesappv1.SyncMaterial{
			Id: mat.String(), Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, PublishedAt: timestamppb.New(at)}}},
	}}
	require.True(t, proto.Equal(want, got), "%v", got)
}

func TestNewRefusesAnOpMutationDoesNotHave(t *testing.T) {
	t.Parallel()
	noop := func(context.Context, pgx.Tx, authn.Principal, proto.Message) error { return nil }
	e := delta.New(nil, delta.Config{})
	e.Handle("add_note", noop)
	require.NotPanics(t, func() { New(e) })
	e.Handle("add_notes", noop)
	require.PanicsWithValue(t, `syncrpc: the engine applies "add_notes", but Mutation has no op of that name`, func() { New(e) })
}
