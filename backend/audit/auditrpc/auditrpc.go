// Package auditrpc is the Connect adapter of the audit log: AuditService.
package auditrpc

import (
	"context"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what the audit log contributes: AuditService and the purge of entries past their 400 days.
func Module(svc *audit.Service) module.Module {
	return module.Module{
		Name:     "audit",
		Services: []module.Service{module.Connect[salesappv1connect.AuditServiceHandler](salesappv1connect.AuditServiceName, salesappv1connect.NewAuditServiceHandler, &Handler{svc: svc})},
		Workers:  func(w *river.Workers) { river.AddWorker(w, svc.PurgeWorker()) },
		Periodic: []*river.PeriodicJob{jobs.Hourly(audit.PurgeArgs{})},
	}
}

// Handler serves AuditService.
type Handler struct{ svc *audit.Service }

var _ salesappv1connect.AuditServiceHandler = (*Handler)(nil)

// ListAuditEntries implements AuditService.
func (h *Handler) ListAuditEntries(ctx context.Context, req *connect.Request[salesappv1.ListAuditEntriesRequest]) (*connect.Response[salesappv1.ListAuditEntriesResponse], error) {
	p, _ := authn.FromContext(ctx)
	m := req.Msg
	f := audit.Filter{ActionPrefix: m.GetActionPrefix(), PageSize: int(m.GetPageSize()), PageToken: m.GetPageToken()}
	f.ActorID, _ = uuid.Parse(m.GetActorId())
	f.TargetID, _ = uuid.Parse(m.GetTargetId())
	if m.Since != nil {
		f.Since = m.GetSince().AsTime()
	}
	if m.Until != nil {
		f.Until = m.GetUntil().AsTime()
	}
	recs, next, err := h.svc.List(ctx, p, f)
	if err != nil {
		return nil, err
	}
	out := &salesappv1.ListAuditEntriesResponse{NextPageToken: next}
	for _, r := range recs {
		e := &salesappv1.AuditEntry{Id: r.ID.String(), At: timestamppb.New(r.At), ActorRole: r.ActorRole, Address: r.Address,
			Action: string(r.Action), TargetKind: r.TargetKind, BeforeJson: r.BeforeJSON, AfterJson: r.AfterJSON}
		if r.ActorID != uuid.Nil {
			e.ActorId = r.ActorID.String()
		}
		if r.TargetID != uuid.Nil {
			e.TargetId = r.TargetID.String()
		}
		out.Entries = append(out.Entries, e)
	}
	return connect.NewResponse(out), nil
}
