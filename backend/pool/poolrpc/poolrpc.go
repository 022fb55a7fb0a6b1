// Package poolrpc is the Connect adapter of lead pools: PoolService.
package poolrpc

import (
	"bytes"
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/customer/customerrpc"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/event/eventrpc"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
	"github.com/salesapp/scrm/backend/pool"
)

// Module is what pools contribute: PoolService, the offline claim and the periodic recycle job.
func Module(svc *pool.Service) module.Module {
	return module.Module{
		Name:     "pool",
		Feature:  authn.FeaturePools,
		Services: []module.Service{module.Connect[salesappv1connect.PoolServiceHandler](salesappv1connect.PoolServiceName, salesappv1connect.NewPoolServiceHandler, &Handler{svc: svc})},
		Workers:  func(w *river.Workers) { river.AddWorker(w, svc.Worker()) },
		// A lead claimed offline, by the rules of ClaimLead.
		Mutations: map[string]module.Applier{
			"claim_lead": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
				op := m.(*salesappv1.ClaimLead)
				pool, err := uuid.Parse(op.GetPoolId())
				if err != nil {
					return platform.Invalid("claim_lead.pool_id", "not a uuid")
				}
				lead, err := uuid.Parse(op.GetCustomerId())
				if err != nil {
					return platform.Invalid("claim_lead.customer_id", "not a uuid")
				}
				return svc.ClaimTx(ctx, tx, p, pool, lead)
			},
		},
		Periodic: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(pool.RecycleInterval),
			func() (river.JobArgs, *river.InsertOpts) { return pool.RecycleArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})},
	}
}

// Handler serves PoolService.
type Handler struct{ svc *pool.Service }

var _ salesappv1connect.PoolServiceHandler = (*Handler)(nil)

// ids parses ids the proto rules have checked.
func ids(in []string) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(in))
	for _, s := range in {
		out = append(out, uuid.MustParse(s))
	}
	return out
}

func strs(in []uuid.UUID) []string {
	out := make([]string, len(in))
	for i, id := range in {
		out[i] = id.String()
	}
	return out
}

func stamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func settingsFrom(s *salesappv1.PoolSettings) pool.Settings {
	return pool.Settings{Name: s.GetName(), Region: s.GetRegion(), Default: s.GetIsDefault(),
		DailyClaimCap: int(s.GetDailyClaimCap()), MaxHeld: int(s.GetMaxHeld()), TeamIDs: ids(s.GetTeamIds()),
		Recycle: pool.Recycle{NoFollowUpDays: int(s.GetRecycle().GetNoFollowUpDays()), NoProgressDays: int(s.GetRecycle().GetNoProgressDays()),
			CooldownDays: int(s.GetRecycle().GetCooldownDays())}, OfferHotLeads: s.GetOfferHotLeads()}
}

// ToProto converts a pool for the wire.
func ToProto(p pool.Pool) *salesappv1.Pool {
	return &salesappv1.Pool{Id: p.ID.String(), Name: p.Name, Region: p.Region, IsDefault: p.Default,
		DailyClaimCap: int32(p.DailyClaimCap), MaxHeld: int32(p.MaxHeld), TeamIds: strs(p.TeamIDs), CreatedAt: stamp(p.CreatedAt),
		Recycle: &salesappv1.PoolRecycle{NoFollowUpDays: int32(p.Recycle.NoFollowUpDays), NoProgressDays: int32(p.Recycle.NoProgressDays),
			CooldownDays: int32(p.Recycle.CooldownDays)}, OfferHotLeads: p.OfferHotLeads}
}

var reasons = map[pool.Reason]salesappv1.LeadReason{
	pool.ReasonOwnerRule: salesappv1.LeadReason_LEAD_REASON_OWNER_RULE,
	pool.ReasonReleased:  salesappv1.LeadReason_LEAD_REASON_RELEASED,
	pool.ReasonRecycled:  salesappv1.LeadReason_LEAD_REASON_RECYCLED,
	pool.ReasonImported:  salesappv1.LeadReason_LEAD_REASON_IMPORTED,
}

func leadToProto(l pool.Lead) *salesappv1.Lead {
	return &salesappv1.Lead{CustomerId: l.CustomerID.String(), DisplayName: l.DisplayName, MaskedPhone: l.MaskedPhone,
		Stage: customerrpc.StageToProto(l.Stage), SourceChannel: eventrpc.ChannelToProto(event.Channel(l.SourceChannel)), Tags: l.Tags, IntentScore: int32(l.IntentScore),
		LastActiveAt: stamp(l.LastActiveAt), EnteredAt: stamp(l.EnteredAt), Reason: reasons[l.Reason], Note: l.Note}
}

// CreatePool implements PoolService.
func (h *Handler) CreatePool(ctx context.Context, req *connect.Request[salesappv1.CreatePoolRequest]) (*connect.Response[salesappv1.CreatePoolResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := h.svc.Create(ctx, p, settingsFrom(req.Msg.GetSettings()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.CreatePoolResponse{Pool: ToProto(pl)}), nil
}

// UpdatePool implements PoolService.
func (h *Handler) UpdatePool(ctx context.Context, req *connect.Request[salesappv1.UpdatePoolRequest]) (*connect.Response[salesappv1.UpdatePoolResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	pl, err := h.svc.Update(ctx, p, uuid.MustParse(req.Msg.GetId()), settingsFrom(req.Msg.GetSettings()))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.UpdatePoolResponse{Pool: ToProto(pl)}), nil
}

// DeletePool implements PoolService.
func (h *Handler) DeletePool(ctx context.Context, req *connect.Request[salesappv1.DeletePoolRequest]) (*connect.Response[salesappv1.DeletePoolResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	to := uuid.Nil
	if req.Msg.MoveToPoolId != nil {
		to = uuid.MustParse(req.Msg.GetMoveToPoolId())
	}
	d, err := h.svc.Delete(ctx, p, uuid.MustParse(req.Msg.GetId()), to)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.DeletePoolResponse{MovedLeads: int32(d.MovedLeads), MovedToPoolId: d.MovedTo.String()}), nil
}

// ListPools implements PoolService.
func (h *Handler) ListPools(ctx context.Context, _ *connect.Request[salesappv1.ListPoolsRequest]) (*connect.Response[salesappv1.ListPoolsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	list, err := h.svc.List(ctx, p)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListPoolsResponse{}
	for _, pl := range list {
		out.Pools = append(out.Pools, ToProto(pl))
	}
	return connect.NewResponse(out), nil
}

// ListLeads implements PoolService.
func (h *Handler) ListLeads(ctx context.Context, req *connect.Request[salesappv1.ListLeadsRequest]) (*connect.Response[salesappv1.ListLeadsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	leads, next, err := h.svc.Leads(ctx, p, uuid.MustParse(req.Msg.GetPoolId()), int(req.Msg.GetPageSize()), req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListLeadsResponse{NextPageToken: next}
	for _, l := range leads {
		out.Leads = append(out.Leads, leadToProto(l))
	}
	return connect.NewResponse(out), nil
}

// ClaimLead implements PoolService.
func (h *Handler) ClaimLead(ctx context.Context, req *connect.Request[salesappv1.ClaimLeadRequest]) (*connect.Response[salesappv1.ClaimLeadResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.svc.Claim(ctx, p, uuid.MustParse(req.Msg.GetPoolId()), uuid.MustParse(req.Msg.GetCustomerId())); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ClaimLeadResponse{}), nil
}

// ReleaseCustomer implements PoolService.
func (h *Handler) ReleaseCustomer(ctx context.Context, req *connect.Request[salesappv1.ReleaseCustomerRequest]) (*connect.Response[salesappv1.ReleaseCustomerResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := h.svc.Release(ctx, p, uuid.MustParse(m.GetPoolId()), uuid.MustParse(m.GetCustomerId()), m.GetReason()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&salesappv1.ReleaseCustomerResponse{}), nil
}

// ImportLeads implements PoolService.
func (h *Handler) ImportLeads(ctx context.Context, req *connect.Request[salesappv1.ImportLeadsRequest]) (*connect.Response[salesappv1.ImportLeadsResponse], error) {
	p, err := authn.Require(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := h.svc.Import(ctx, p, uuid.MustParse(req.Msg.GetPoolId()), bytes.NewReader(req.Msg.GetCsv()))
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ImportLeadsResponse{Imported: int32(rep.Imported), Merged: int32(rep.Merged)}
	for _, r := range rep.Rejected {
		out.Rejected = append(out.Rejected, &salesappv1.ImportRejection{Line: int32(r.Line), Reason: r.Reason})
	}
	return connect.NewResponse(out), nil
}
