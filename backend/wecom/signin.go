package wecom

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/platform"
)

// MemberByCode exchanges a sign-in code (auth/getuserinfo) from the tenant's self-built app for the userid
// of the corp member it belongs to, for auth's WeCom sign-in. FailedPrecondition when the tenant (or this
// server) has no WeCom set up or its plan lacks the bridge, Unauthenticated for a code WeCom refuses,
// PermissionDenied for a person outside the corp.
func (s *Service) MemberByCode(ctx context.Context, tenantID uuid.UUID, code string) (string, error) {
	c, err := s.Client(ctx, tenantID, AppAgent)
	if errors.Is(err, ErrNotInPlan) || platform.KindOf(err) == platform.KindNotFound || platform.KindOf(err) == platform.KindFailedPrecondition {
		// Whether the tenant exists, or what its plan includes, is not told: all read as not set up.
		return "", &platform.Error{Kind: platform.KindFailedPrecondition, Cause: err,
			Msg: "WeCom sign-in is not set up for this enterprise: sign in with your phone number and password"}
	}
	if err != nil {
		return "", err
	}
	id, err := c.UserInfoByCode(ctx, code)
	if err != nil {
		return "", err
	}
	if id.UserID == "" {
		return "", platform.PermissionDenied("you signed in to WeCom as someone outside this enterprise: sign in with the WeCom account your enterprise gave you")
	}
	return id.UserID, nil
}
