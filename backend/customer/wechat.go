package customer

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
)

// SetWeChatProfile records the nickname and avatar a customer shared by signing in with WeChat on a page
// (snsapi_userinfo), so the salesperson sees who it is instead of "a new visitor". The nickname becomes the
// customer's name only while the name is empty or still the previous WeChat nickname: a name the
// salesperson typed is kept. An empty avatar leaves the one there. A merged-away customer is left alone
// (pass the survivor).
func (s *Service) SetWeChatProfile(ctx context.Context, tenantID, customerID uuid.UUID, nickname, avatarURL string) error {
	if nickname == "" && avatarURL == "" {
		return nil
	}
	return s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := customerdb.New(tx).SetWeChatProfile(ctx, customerdb.SetWeChatProfileParams{
			TenantID: tenantID, ID: customerID, Nickname: nickname, AvatarUrl: avatarURL})
		return err
	})
}
