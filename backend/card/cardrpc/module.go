package cardrpc

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/card"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/module"
)

// Module is what business cards contribute: CardService, and the offline edit of one's own card.
func Module(svc *card.Service) module.Module {
	h := New(svc)
	return module.Module{
		Name:     "card",
		Services: []module.Service{module.Connect[salesappv1connect.CardServiceHandler](salesappv1connect.CardServiceName, salesappv1connect.NewCardServiceHandler, h)},
		Mutations: map[string]module.Applier{
			"update_my_card": func(ctx context.Context, tx pgx.Tx, p authn.Principal, m proto.Message) error {
				op := m.(*salesappv1.UpdateMyCard)
				return svc.UpdateTx(ctx, tx, p, card.Change{DisplayName: op.DisplayName, Title: op.Title, Phone: op.Phone,
					WeChatID: op.WechatId, Email: op.Email, Bio: op.Bio})
			},
		},
	}
}
