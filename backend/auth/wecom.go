package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/auth/internal/authdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
)

// WeComMembers exchanges a WeCom sign-in code, issued by the tenant's corp, for the userid of the member
// it belongs to. The WeCom bridge provides it (the server wires it in); its errors are domain errors
// (Unauthenticated for a code WeCom refuses, FailedPrecondition when the tenant has no WeCom set up,
// PermissionDenied for a person outside the corp).
type WeComMembers func(ctx context.Context, tenantID uuid.UUID, code string) (userID string, err error)

// WeComSignInRequest is one attempt to sign in with a WeCom code.
type WeComSignInRequest struct {
	TenantID uuid.UUID
	Code     string
	// DeviceID, DeviceName and Address are as in SignInRequest.
	DeviceID, DeviceName string
	Address              string
}

// SignInWithWeCom signs a device in as the employee linked (employees.wecom_userid) to the WeCom member a
// sign-in code belongs to. It counts against the same per-address failure counters as SignIn: a code WeCom
// refuses, a tenant without WeCom and a member linked to nobody are failures; a WeCom outage is not. The
// session and the sign-in record are SignIn's.
func (s *Service) SignInWithWeCom(ctx context.Context, r WeComSignInRequest, members WeComMembers) (SignedIn, error) {
	if err := checkDevice(r.DeviceID); err != nil {
		return SignedIn{}, err
	}
	if r.Code == "" || len(r.Code) > 512 {
		return SignedIn{}, platform.Invalid("code", "must be 1 to 512 characters")
	}
	if members == nil {
		return SignedIn{}, platform.FailedPrecondition("WeCom sign-in is not available on this server")
	}
	if err := s.weComInPlan(ctx, r.TenantID); err != nil {
		return SignedIn{}, err
	}
	var keys []throttleKey
	if r.Address != "" {
		keys = append(keys, addressThrottle(r.Address))
	}
	wait, err := s.claim(ctx, keys)
	if err != nil {
		return SignedIn{}, err
	}
	if wait > 0 {
		return SignedIn{}, throttled(wait)
	}
	userID, err := members(ctx, r.TenantID, r.Code)
	if err != nil {
		switch platform.KindOf(err) {
		case platform.KindUnauthenticated, platform.KindFailedPrecondition, platform.KindPermissionDenied,
			platform.KindNotFound, platform.KindInvalid:
			// The caller's doing: counted.
		default:
			s.settle(ctx, keys, false) // WeCom or we failed: not the caller's doing.
		}
		return SignedIn{}, err
	}
	var (
		employeeID uuid.UUID
		emp        authdb.GetSignInEmployeeRow
	)
	err = s.db.InTenantTx(ctx, r.TenantID, func(tx pgx.Tx) error {
		q := authdb.New(tx)
		var err error
		if employeeID, err = q.EmployeeByWeComUserID(ctx, authdb.EmployeeByWeComUserIDParams{TenantID: r.TenantID, WecomUserid: userID}); err != nil {
			return err
		}
		emp, err = q.GetSignInEmployee(ctx, authdb.GetSignInEmployeeParams{TenantID: r.TenantID, EmployeeID: employeeID})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return SignedIn{}, &platform.Error{Kind: platform.KindNotFound, Msg: fmt.Sprintf(
			"no employee of this enterprise is linked to your WeCom account (userid %s): ask your administrator to sync the WeCom directory or set your WeCom userid", userID)}
	}
	if err != nil {
		s.settle(ctx, keys, false)
		return SignedIn{}, err
	}
	s.settle(ctx, keys, true)
	dev := newDevice(r.DeviceID, r.DeviceName, r.Address)
	if err := s.usable(emp.Status, emp.TenantExpiresAt); err != nil {
		outcome := OutcomeTenantExpired
		if emp.Status != "active" {
			outcome = OutcomeDisabled
		}
		s.record(ctx, []credential{{TenantID: r.TenantID, EmployeeID: employeeID}}, outcome, dev)
		return SignedIn{}, err
	}
	return s.signIn(ctx, r.TenantID, employeeID, dev)
}

// weComInPlan refuses WeCom sign-in to a tenant whose plan lacks the WeCom bridge (authn.FeatureWeCom), before
// WeCom is asked; an unknown tenant goes on, to fail as any bad attempt does.
func (s *Service) weComInPlan(ctx context.Context, tenantID uuid.UUID) error {
	var names []string
	err := s.db.InTenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		names, err = authdb.New(tx).TenantFeatures(ctx, tenantID)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if !slices.Contains(authn.ParseFeatures(names), authn.FeatureWeCom) {
		return platform.PermissionDenied("your enterprise's plan does not include the WeCom bridge: sign in with your phone number or email and password")
	}
	return nil
}
