// Package syncrpc is the Connect adapter of delta sync: SyncService. It converts between the wire messages
// and sync/delta's own types, validates each mutation (one bad mutation is rejected on its own, not the
// push), and answers delta's errors with the Connect codes and messages the apps rely on.
package syncrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/sync/delta"
)

// Handler serves SyncService.
type Handler struct{ engine *delta.Engine }

// New builds the handler. Every op the engine applies must be a field of Mutation's op: another name is a
// programming error, and New panics.
func New(engine *delta.Engine) *Handler {
	for _, op := range engine.Ops() {
		if opField.Fields().ByName(protoreflect.Name(op)) == nil {
			panic(fmt.Sprintf("syncrpc: the engine applies %q, but Mutation has no op of that name", op))
		}
	}
	return &Handler{engine: engine}
}

var _ salesappv1connect.SyncServiceHandler = (*Handler)(nil)

// Pull implements SyncService.
func (h *Handler) Pull(ctx context.Context, req *connect.Request[salesappv1.PullRequest]) (*connect.Response[salesappv1.PullResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	page, err := h.engine.Pull(ctx, p, delta.Device{ID: m.GetDeviceId(), SchemaVersion: m.GetSchemaVersion()}, m.GetCursor(), int(m.GetPageSize()))
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(pullResponse(page)), nil
}

// Push implements SyncService.
func (h *Handler) Push(ctx context.Context, req *connect.Request[salesappv1.PushRequest]) (*connect.Response[salesappv1.PushResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	ms := make([]delta.Mutation, len(req.Msg.GetMutations()))
	for i, m := range req.Msg.GetMutations() {
		if ms[i], err = mutation(m); err != nil {
			return nil, err
		}
	}
	out, err := h.engine.Push(ctx, p, delta.Device{ID: req.Msg.GetDeviceId(), SchemaVersion: req.Msg.GetSchemaVersion()}, ms)
	if err != nil {
		return nil, toConnect(err)
	}
	res := &salesappv1.PushResponse{LastMutationId: uint32(out.LastMutationID), Results: make([]*salesappv1.MutationResult, len(out.Results))}
	for i, r := range out.Results {
		res.Results[i] = mutationResult(r)
	}
	return connect.NewResponse(res), nil
}

// toConnect answers the engine's refusals with their codes and messages. Anything else goes on as it is:
// the server's error interceptor translates (and logs) domain and database errors.
func toConnect(err error) error {
	var (
		schema   *delta.SchemaError
		batch    *delta.BatchError
		mismatch *delta.MismatchError
	)
	switch {
	case errors.As(err, &schema), errors.As(err, &mismatch):
		// The reference client tells the two apart by the message ("schema version").
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.As(err, &batch):
		field := "mutations"
		if batch.Index >= 0 {
			field = fmt.Sprintf("mutations[%d].id", batch.Index)
		}
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s: %s", field, batch.Reason))
	}
	return err
}

var opField = (&salesappv1.Mutation{}).ProtoReflect().Descriptor().Oneofs().ByName("op")

// mutation converts one wire mutation. Its fields are validated here rather than by the RPC's validation,
// which leaves the mutations alone: a mutation that breaks a rule is rejected on its own (Invalid), so
// the device is not stuck behind it.
func mutation(m *salesappv1.Mutation) (delta.Mutation, error) {
	// The digest of this encoding is stored with each outcome: a message parsed from the wire marshals,
	// and the deterministic encoding of the parsed message does not depend on how the app encoded it.
	content, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	out := delta.Mutation{ID: uint64(m.GetId()), Content: content}
	r := m.ProtoReflect()
	if f := r.WhichOneof(opField); f != nil {
		out.Op, out.Payload = string(f.Name()), r.Get(f).Message().Interface()
	}
	var verr *protovalidate.ValidationError
	if err := protovalidate.Validate(m); errors.As(err, &verr) && len(verr.Violations) > 0 {
		v := verr.Violations[0].Proto
		out.Invalid = &delta.Reason{Kind: platform.KindInvalid, Field: protovalidate.FieldPathString(v.GetField()), Message: v.GetMessage()}
	} else if err != nil {
		return delta.Mutation{}, err
	}
	return out, nil
}

var outcomes = map[delta.Outcome]salesappv1.MutationResult_Outcome{
	delta.Applied:  salesappv1.MutationResult_OUTCOME_APPLIED,
	delta.Lost:     salesappv1.MutationResult_OUTCOME_LOST,
	delta.Rejected: salesappv1.MutationResult_OUTCOME_REJECTED,
}

func mutationResult(r delta.Result) *salesappv1.MutationResult {
	out := &salesappv1.MutationResult{Id: uint32(r.ID), Outcome: outcomes[r.Outcome]}
	if r.Reason != nil {
		out.Code, out.Field, out.Message = codeName(r.Reason.Kind), r.Reason.Field, r.Reason.Message
	}
	return out
}

// codeName is the Connect code a kind of domain error is answered with, by name (invalid_argument).
func codeName(k platform.Kind) string {
	return connect.CodeOf(rpcserver.ToConnect(&platform.Error{Kind: k})).String()
}

// The words the tables keep for a customer's stage, their source channel, an alert's kind, an event's
// kind, a material's tier, kind and status, and a person's role, as the RPCs' enums: each reaches the app in one encoding whichever service sends it.
var (
	stageWords     = rpcserver.NewWords[salesappv1.CustomerStage](salesappv1.CustomerStage_value, "CUSTOMER_STAGE_")
	channelWords   = rpcserver.NewWords[salesappv1.ShareChannel](salesappv1.ShareChannel_value, "SHARE_CHANNEL_")
	alertKindWords = rpcserver.NewWords[salesappv1.AlertKind](salesappv1.AlertKind_value, "ALERT_KIND_")
	eventWords     = rpcserver.NewWords[salesappv1.EventKind](salesappv1.EventKind_value, "EVENT_KIND_")
	tierWords      = rpcserver.NewWords[salesappv1.MaterialTier](salesappv1.MaterialTier_value, "MATERIAL_TIER_")
	materialWords  = rpcserver.NewWords[salesappv1.MaterialKind](salesappv1.MaterialKind_value, "MATERIAL_KIND_")
	statusWords    = rpcserver.NewWords[salesappv1.MaterialStatus](salesappv1.MaterialStatus_value, "MATERIAL_STATUS_")
	roleWords      = rpcserver.NewWords[salesappv1.Role](salesappv1.Role_value, "ROLE_")
)

var kinds = map[delta.Kind]salesappv1.EntityKind{
	delta.KindCustomer:      salesappv1.EntityKind_ENTITY_KIND_CUSTOMER,
	delta.KindTimelineEntry: salesappv1.EntityKind_ENTITY_KIND_TIMELINE_ENTRY,
	delta.KindNote:          salesappv1.EntityKind_ENTITY_KIND_NOTE,
	delta.KindCard:          salesappv1.EntityKind_ENTITY_KIND_CARD,
	delta.KindAlert:         salesappv1.EntityKind_ENTITY_KIND_ALERT,
	delta.KindMaterial:      salesappv1.EntityKind_ENTITY_KIND_MATERIAL,
	delta.KindFolder:        salesappv1.EntityKind_ENTITY_KIND_FOLDER,
	delta.KindTask:          salesappv1.EntityKind_ENTITY_KIND_TASK,
	delta.KindMember:        salesappv1.EntityKind_ENTITY_KIND_MEMBER,
}

func pullResponse(p delta.Page) *salesappv1.PullResponse {
	if p.MustReset {
		return &salesappv1.PullResponse{MustReset: true}
	}
	out := &salesappv1.PullResponse{Changes: make([]*salesappv1.Change, len(p.Changes)), NextCursor: p.NextCursor,
		HasMore: p.HasMore, LastMutationId: uint32(p.LastMutationID), RetryAfterMs: uint32(p.RetryAfter / time.Millisecond)}
	for i, c := range p.Changes {
		out.Changes[i] = change(c)
	}
	return out
}

func change(c delta.Change) *salesappv1.Change {
	out := &salesappv1.Change{Kind: kinds[c.Kind], Id: c.ID.String(), Deleted: c.Deleted}
	switch e := c.Entity.(type) {
	case *delta.Customer:
		out.Entity = &salesappv1.Change_Customer{Customer: &salesappv1.SyncCustomer{
			Id: e.ID.String(), DisplayName: e.DisplayName, AvatarUrl: e.AvatarURL, Phone: e.Phone, Stage: stageWords.Enum(e.Stage),
			SourceChannel: channelWords.Enum(e.SourceChannel), Remark: e.Remark, Tags: e.Tags, Views: e.Views, DwellMs: rpcserver.Int32(e.DwellMs),
			Forwards: e.Forwards, CallClicks: e.CallClicks, WechatClicks: e.WechatClicks, IntentScore: e.IntentScore,
			FirstSeenAt: timestamppb.New(e.FirstSeenAt), LastActiveAt: timestamppb.New(e.LastActiveAt),
			OwnerId: e.OwnerID.String(), ReadOnly: e.ReadOnly}}
	case *delta.TimelineEntry:
		out.Entity = &salesappv1.Change_TimelineEntry{TimelineEntry: &salesappv1.SyncTimelineEntry{
			Id: e.ID.String(), CustomerId: e.CustomerID.String(), Kind: eventWords.Enum(e.Kind), MaterialId: nullID(e.MaterialID),
			ShareId: nullID(e.ShareID), OccurredAt: timestamppb.New(e.OccurredAt), DwellMs: rpcserver.Int32(e.DwellMs), Value: e.Value}}
	case *delta.Note:
		out.Entity = &salesappv1.Change_Note{Note: &salesappv1.SyncNote{
			Id: e.ID.String(), CustomerId: e.CustomerID.String(), AuthorId: e.AuthorID.String(), Kind: e.Kind,
			Body: e.Body, NextAt: tsp(e.NextAt), CreatedAt: timestamppb.New(e.CreatedAt), UpdatedAt: timestamppb.New(e.UpdatedAt)}}
	case *delta.Card:
		featured := make([]string, len(e.FeaturedMaterialIDs))
		for i, id := range e.FeaturedMaterialIDs {
			featured[i] = id.String()
		}
		out.Entity = &salesappv1.Change_Card{Card: &salesappv1.SyncCard{
			EmployeeId: e.EmployeeID.String(), DisplayName: e.DisplayName, Title: e.Title, Phone: e.Phone,
			WechatId: e.WechatID, Email: e.Email, AvatarKey: e.AvatarKey, Bio: e.Bio, PhotoKeys: e.PhotoKeys,
			IntroVideoKey: e.IntroVideoKey, FeaturedMaterialIds: featured, Version: rpcserver.Int32(e.Version), UpdatedAt: timestamppb.New(e.UpdatedAt)}}
	case *delta.Alert:
		out.Entity = &salesappv1.Change_Alert{Alert: &salesappv1.SyncAlert{
			AlertId: e.AlertID.String(), Seq: rpcserver.Int32(e.Seq), Kind: alertKindWords.Enum(e.Kind), CustomerId: e.CustomerID.String(),
			MaterialId: nullID(e.MaterialID), Body: e.Body, CreatedAt: timestamppb.New(e.CreatedAt), Read: e.Read}}
	case *delta.Material:
		out.Entity = &salesappv1.Change_Material{Material: &salesappv1.SyncMaterial{
			Id: e.ID.String(), Tier: tierWords.Enum(e.Tier), Kind: materialWords.Enum(e.Kind), Status: statusWords.Enum(e.Status), RejectReason: e.RejectReason,
			FolderId: nullID(e.FolderID), Title: e.Title, Summary: e.Summary, BodyHtml: e.BodyHTML, TextBody: e.TextBody,
			FileKey: e.FileKey, ImageKeys: e.ImageKeys, CoverKey: e.CoverKey, Tags: e.Tags, Version: rpcserver.Int32(e.Version),
			PublishedAt: tsp(e.PublishedAt)}}
	case *delta.Folder:
		out.Entity = &salesappv1.Change_Folder{Folder: &salesappv1.SyncFolder{Id: e.ID.String(), Tier: tierWords.Enum(e.Tier), Name: e.Name}}
	case *delta.Member:
		out.Entity = &salesappv1.Change_Member{Member: &salesappv1.SyncMember{EmployeeId: e.ID.String(), Name: e.Name,
			Title: e.Title, Role: roleWords.Enum(e.Role), TeamId: e.TeamID.String(), Disabled: e.Disabled}}
	case *delta.Task:
		materials := make([]string, len(e.MaterialIDs))
		for i, id := range e.MaterialIDs {
			materials[i] = id.String()
		}
		out.Entity = &salesappv1.Change_Task{Task: &salesappv1.SyncTask{
			Id: e.ID.String(), CreatedBy: e.CreatedBy.String(), Title: e.Title, Brief: e.Brief, MaterialIds: materials,
			Targets: taskCounts(e.Targets), StartsAt: timestamppb.New(e.StartsAt), EndsAt: timestamppb.New(e.EndsAt),
			ClaimRequired: e.ClaimRequired, MaxClaimers: e.MaxClaimers, Claimers: e.Claimers, Cancelled: e.Cancelled,
			Version: rpcserver.Int32(e.Version), Joined: e.Joined, Claimed: e.Claimed, Progress: taskCounts(e.Progress), CompletedAt: tsp(e.CompletedAt),
			Overseen: e.Overseen}}
		for _, a := range e.Team {
			out.GetTask().Team = append(out.GetTask().Team, &salesappv1.TaskAssignee{EmployeeId: a.EmployeeID.String(), Name: a.Name,
				TeamId: a.TeamID.String(), Claimed: a.Claimed, JoinedAt: timestamppb.New(a.JoinedAt), Progress: taskCounts(a.Progress),
				CompletedAt: tsp(a.CompletedAt)})
		}
	}
	return out
}

func taskCounts(c delta.TaskCounts) *salesappv1.TaskCounts {
	return &salesappv1.TaskCounts{Shares: c.Shares, Views: c.Views, Viewers: c.Viewers, Forwards: c.Forwards,
		NewCustomers: c.NewCustomers, Leads: c.Leads}
}

func tsp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func nullID(id uuid.NullUUID) string {
	if !id.Valid {
		return ""
	}
	return id.UUID.String()
}
