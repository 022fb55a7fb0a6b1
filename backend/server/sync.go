package server

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/push/alert"
	"github.com/salesapp/scrm/sync/delta"
)

// Client schema versions this server syncs with.
const (
	minSyncSchema = 1
	maxSyncSchema = 1
)

// newSync builds the sync engine and tells it how each offline mutation is applied: by the same domain
// rules as the online RPCs, inside the push's transaction.
func newSync(db *platform.DB, cards *card.Service) *delta.Engine {
	e := delta.New(db, delta.Config{MinSchema: minSyncSchema, MaxSchema: maxSyncSchema})
	e.Handle("add_note", func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error {
		op := m.GetAddNote()
		noteID, err := parseID("add_note.note_id", op.GetNoteId())
		if err != nil {
			return err
		}
		return onCustomer(ctx, tx, p, "add_note.customer_id", op.GetCustomerId(), func(cid uuid.UUID) error {
			_, err := customer.AddNoteTx(ctx, tx, p, noteID, cid, op.GetKind(), op.GetBody(), timeOf(op.GetNextAt()))
			return err
		})
	})
	e.Handle("edit_note", func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error {
		op := m.GetEditNote()
		id, err := parseID("edit_note.note_id", op.GetNoteId())
		if err != nil {
			return err
		}
		return customer.EditNoteTx(ctx, tx, p, id, op.GetBody(), timeOf(op.GetNextAt()))
	})
	e.Handle("delete_note", func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error {
		id, err := parseID("delete_note.note_id", m.GetDeleteNote().GetNoteId())
		if err != nil {
			return err
		}
		return customer.DeleteNoteTx(ctx, tx, p, id)
	})
	e.Handle("set_stage", func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error {
		op := m.GetSetStage()
		stage := op.GetStage()
		return onCustomer(ctx, tx, p, "set_stage.customer_id", op.GetCustomerId(), func(cid uuid.UUID) error {
			return customer.UpdateTx(ctx, tx, p, cid, customer.Change{Stage: &stage})
		})
	})
	tag := func(add bool) delta.Applier {
		return func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error {
			id, t, field := m.GetTagCustomer().GetCustomerId(), m.GetTagCustomer().GetTag(), "tag_customer.customer_id"
			if !add {
				id, t, field = m.GetUntagCustomer().GetCustomerId(), m.GetUntagCustomer().GetTag(), "untag_customer.customer_id"
			}
			return onCustomer(ctx, tx, p, field, id, func(cid uuid.UUID) error {
				return customer.TagTx(ctx, tx, p, cid, t, add)
			})
		}
	}
	e.Handle("tag_customer", tag(true))
	e.Handle("untag_customer", tag(false))
	e.Handle("edit_customer", func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error {
		op := m.GetEditCustomer()
		return onCustomer(ctx, tx, p, "edit_customer.customer_id", op.GetCustomerId(), func(cid uuid.UUID) error {
			return customer.UpdateTx(ctx, tx, p, cid, customer.Change{Remark: op.Remark, DisplayName: op.DisplayName, Phone: op.Phone})
		})
	})
	e.Handle("update_my_card", func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error {
		op := m.GetUpdateMyCard()
		return cards.UpdateTx(ctx, tx, p, card.Change{DisplayName: op.DisplayName, Title: op.Title, Phone: op.Phone,
			WeChatID: op.WechatId, Email: op.Email, Bio: op.Bio})
	})
	e.Handle("mark_alerts_read", func(ctx context.Context, tx pgx.Tx, p authn.Principal, m *salesappv1.Mutation) error {
		_, err := alert.MarkReadTx(ctx, tx, alert.Key{TenantID: p.TenantID, EmployeeID: p.EmployeeID}, m.GetMarkAlertsRead().GetThroughSeq())
		return err
	})
	return e
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
