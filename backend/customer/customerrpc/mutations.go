package customerrpc

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what customers contribute: CustomerService, the offline mutations of customers and notes, and
// the follow-up reminders' periodic job.
func Module(svc *customer.Service, reminders *customer.Reminders) module.Module {
	return module.Module{
		Name:      "customer",
		Services:  []module.Service{module.Connect[salesappv1connect.CustomerServiceHandler](salesappv1connect.CustomerServiceName, salesappv1connect.NewCustomerServiceHandler, New(svc))},
		Mutations: mutations(),
		Workers:   func(w *river.Workers) { river.AddWorker(w, reminders.Worker()) },
		Periodic:  []*river.PeriodicJob{reminders.Periodic()},
	}
}

// mutations apply the customers' offline mutations by the same rules as the online RPCs.
func mutations() map[string]module.Applier {
	tag := func(add bool) module.Applier {
		return func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			var id, t, field string
			if add {
				op := m.(*salesappv1.TagCustomer)
				id, t, field = op.GetCustomerId(), op.GetTag(), "tag_customer.customer_id"
			} else {
				op := m.(*salesappv1.UntagCustomer)
				id, t, field = op.GetCustomerId(), op.GetTag(), "untag_customer.customer_id"
			}
			return onCustomer(ctx, tx, p, field, id, func(cid uuid.UUID) error {
				return customer.TagTx(ctx, tx, p, cid, t, add)
			})
		}
	}
	return map[string]module.Applier{
		"add_note": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			op := m.(*salesappv1.AddNote)
			noteID, err := parseID("add_note.note_id", op.GetNoteId())
			if err != nil {
				return err
			}
			return onCustomer(ctx, tx, p, "add_note.customer_id", op.GetCustomerId(), func(cid uuid.UUID) error {
				_, err := customer.AddNoteTx(ctx, tx, p, noteID, cid, customer.NoteKind(op.GetKind()), op.GetBody(), timeOf(op.GetNextAt()))
				return err
			})
		},
		"edit_note": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			op := m.(*salesappv1.EditNote)
			id, err := parseID("edit_note.note_id", op.GetNoteId())
			if err != nil {
				return err
			}
			return customer.EditNoteTx(ctx, tx, p, id, op.GetBody(), timeOf(op.GetNextAt()))
		},
		"delete_note": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			id, err := parseID("delete_note.note_id", m.(*salesappv1.DeleteNote).GetNoteId())
			if err != nil {
				return err
			}
			return customer.DeleteNoteTx(ctx, tx, p, id)
		},
		"set_stage": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			op := m.(*salesappv1.SetStage)
			stage := StageFromProto(op.GetStage())
			return onCustomer(ctx, tx, p, "set_stage.customer_id", op.GetCustomerId(), func(cid uuid.UUID) error {
				return customer.UpdateTx(ctx, tx, p, cid, customer.Change{Stage: &stage})
			})
		},
		"assign_customer": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			op := m.(*salesappv1.AssignCustomer)
			owner, err := parseID("assign_customer.owner_id", op.GetOwnerId())
			if err != nil {
				return err
			}
			return onCustomer(ctx, tx, p, "assign_customer.customer_id", op.GetCustomerId(), func(cid uuid.UUID) error {
				_, err := customer.AssignTx(ctx, tx, p, cid, owner)
				return err
			})
		},
		"tag_customer":   tag(true),
		"untag_customer": tag(false),
		"edit_customer": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
			op := m.(*salesappv1.EditCustomer)
			return onCustomer(ctx, tx, p, "edit_customer.customer_id", op.GetCustomerId(), func(cid uuid.UUID) error {
				return customer.UpdateTx(ctx, tx, p, cid, customer.Change{Remark: op.Remark, DisplayName: op.DisplayName, Phone: op.Phone})
			})
		},
	}
}

func parseID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, platform.Invalid(field, "not a valid id")
	}
	return id, nil
}

// onCustomer applies fn to a customer. A customer merged away since the app saw it (a visitor who signed
// in as a known person) is the same person: fn is applied to the survivor. The merge is looked up only
// when fn does not find the customer, so the common case costs nothing more. (fn's not-found changes
// nothing and runs no failing SQL, so the transaction goes on.)
func onCustomer(ctx context.Context, tx pgx.Tx, p authn.Principal, field, s string, fn func(uuid.UUID) error) error {
	id, err := parseID(field, s)
	if err != nil {
		return err
	}
	err = fn(id)
	if platform.KindOf(err) != platform.KindNotFound {
		return err
	}
	into, serr := customer.Survivor(ctx, tx, p.TenantID, id)
	if serr != nil || into == id {
		return err
	}
	return fn(into)
}

func timeOf(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime()
	return &v
}
