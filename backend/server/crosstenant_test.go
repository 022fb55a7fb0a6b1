package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/sync/delta"
)

// The cross-tenant table: every RPC that takes the id of a tenant-owned thing is called by tenant A's
// admin, manager and salesperson with tenant B's id, and must answer as it answers for an id that does
// not exist. The convention the handlers follow:
//
//   - the id names what the RPC acts on (GetMaterial's material_id): NotFound, never PermissionDenied, so
//     that nobody learns another tenant's ids exist; a role check that comes first (only admins rename
//     teams) answers PermissionDenied whatever the id;
//   - the id is a reference inside what the caller writes (a team for a new employee, a folder for a
//     material, an upload key on a card): InvalidArgument naming the field, as for a reference that does not
//     exist;
//   - the id filters a list: OK with nothing of B's in it;
//   - the id is the caller's own namespace (a device id): OK, and B's row with the same id is untouched.
//
// Rows that break the convention say so in deviation, and are pinned to what they answer today, so that
// fixing them shows up here. After each row, B's rows in every table with a tenant_id must be unchanged.
//
// Adding an RPC that takes an id is one more row in crossTenantRows; TestCrossTenantTableCoversEveryRPC
// fails until it has one (or an exemption in crossTenantExempt says why it needs none).

// crossTenantExempt lists the RPCs whose requests carry ids but that no tenant's employee can aim at
// another tenant's things, with the reason.
var crossTenantExempt = map[string]string{
	// Public: there is no caller tenant. The refresh token names its session (and so its tenant); the
	// device id is the app's install id, checked against that session.
	salesappv1connect.AuthServiceRefreshTokenProcedure: "public; the refresh token decides the tenant",
	// Public sign-in: there is no caller tenant. The login and password decide the employees; the device id
	// is the app's install id; SelectTenant's tenant must be one its ticket lists (the domain tests try
	// others); an invitation code names its tenant.
	salesappv1connect.AuthServiceSignInProcedure:           "public; the login and password decide the tenants",
	salesappv1connect.AuthServiceSelectTenantProcedure:     "public; the ticket lists the tenants it may pick",
	salesappv1connect.AuthServiceAcceptInvitationProcedure: "public; the invitation code decides the tenant",
	// Public WeCom sign-in: the tenant named is only where the code is exchanged; the code (WeCom's word on
	// who signed in) decides the employee, looked up in that tenant only (backend/server/wecom_signin_test.go).
	salesappv1connect.AuthServiceSignInWithWeComProcedure: "public; WeCom's code decides the employee within the tenant named",
	// Public customer pages: the share token decides the tenant; visitor ids and event ids are the page's
	// own, and every table they land in is keyed by tenant (events, customer_identities).
	salesappv1connect.PublicServiceLoginMiniProgramProcedure: "public; the share token decides the tenant",
	salesappv1connect.PublicServiceLoginH5Procedure:          "public; the share token decides the tenant",
	salesappv1connect.PublicServiceLeavePhoneNumberProcedure: "public; the share token decides the tenant",
	salesappv1connect.PublicServiceOpenFeaturedProcedure: "public; the share token decides the tenant (a material of another " +
		"tenant is not on the card: NotFound)",
	salesappv1connect.PublicServiceOpenCardProcedure: "public; the customer session decides the tenant (another tenant's salesperson is " +
		"NotFound: TestAMiniProgramCustomerCarriesASessionInsteadOfAVisitorID)",
	salesappv1connect.TrackingServiceTrackProcedure: "public; each event's share token decides its tenant",
	// corp_id and agent_id are WeCom's ids, not ours: SetConfig writes the caller's tenant's row only.
	salesappv1connect.WeComServiceSetWeComConfigProcedure: "WeCom's corp and agent ids; only the caller's tenant is written",
}

// expect is the code each of A's roles must get. codeOK (0) is success.
type expect map[authn.Role]connect.Code

const codeOK connect.Code = 0

func everyone(c connect.Code) expect {
	return expect{authn.RoleAdmin: c, authn.RoleManager: c, authn.RoleSales: c}
}

// adminOnly is an RPC only admins may call: the others are refused before the id is looked at.
func adminOnly(c connect.Code) expect {
	return expect{authn.RoleAdmin: c, authn.RoleManager: connect.CodePermissionDenied, authn.RoleSales: connect.CodePermissionDenied}
}

type crossRow struct {
	// procedure is the RPC, as salesappv1connect names it.
	procedure string
	// aim says which of B's things the row aims at, for RPCs with several rows.
	aim  string
	want expect
	// foreign is B's id; missing an id of the same kind that names nothing (a fresh UUID when nil).
	foreign, missing func(w *world) string
	// call makes the RPC as c with id. A list that shows any of B's things fails with CodeDataLoss.
	call func(ctx context.Context, c caller, id string) error
	// deviation, when set, says how this RPC breaks the convention above; its answer to B's id need not
	// match its answer to a missing id.
	deviation string
}

func crossTenantRows() []crossRow {
	team := func(w *world) string { return w.bTeam.String() }
	employee := func(w *world) string { return w.bSales.ID.String() }
	published := func(w *world) string { return w.bMaterial }
	draft := func(w *world) string { return w.bDraft }
	folder := func(w *world) string { return w.bFolder }
	exportOfB := func(w *world) string { return w.bExport }
	bImage := func(w *world) string { return w.bImage }
	freshKey := func(w *world) string { return media.TenantKey(w.b.ID, media.UploadPurpose, "png") }
	customer := func(w *world) string { return w.bCustomer }
	note := func(w *world) string { return w.bNote }
	device := func(w *world) string { return w.bDevice }
	bTask := func(w *world) string { return w.bTask }
	bWeComEvent := func(w *world) string { return w.bWeComEvent }
	bPool := func(w *world) string { return w.bPool }
	bChannel := func(w *world) string { return w.bChannel }
	bTagRule := func(w *world) string { return w.bTagRule }
	bHandover := func(w *world) string { return w.bHandover }
	// Channel codes are for admins and managers.
	managers := func(c connect.Code) expect {
		return expect{authn.RoleAdmin: c, authn.RoleManager: c, authn.RoleSales: connect.CodePermissionDenied}
	}
	freshDevice := func(*world) string { return "phone-" + uuid.NewString()[:8] }
	chat := salesappv1.ShareChannel_SHARE_CHANNEL_CHAT
	articleIn := func(folderID string) *salesappv1.MaterialContent {
		return &salesappv1.MaterialContent{Title: "Mole", BodyHtml: "<p>x</p>", FolderId: folderID}
	}
	return []crossRow{
		// Teams and employees.
		{procedure: salesappv1connect.TeamServiceRenameTeamProcedure, want: adminOnly(connect.CodeNotFound), foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.teams.RenameTeam(ctx, connect.NewRequest(&salesappv1.RenameTeamRequest{TeamId: id, Name: "hijacked"}))
				return err
			}},
		{procedure: salesappv1connect.TeamServiceDeleteTeamProcedure, want: adminOnly(connect.CodeNotFound), foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.teams.DeleteTeam(ctx, connect.NewRequest(&salesappv1.DeleteTeamRequest{TeamId: id}))
				return err
			}},
		{procedure: salesappv1connect.EmployeeServiceCreateEmployeeProcedure, aim: "team_id", want: adminOnly(connect.CodeInvalidArgument), foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.CreateEmployee(ctx, connect.NewRequest(&salesappv1.CreateEmployeeRequest{Name: "Mole", Role: salesappv1.Role_ROLE_SALES, TeamId: id}))
				return err
			}},
		{procedure: salesappv1connect.EmployeeServiceGetEmployeeProcedure, want: everyone(connect.CodeNotFound), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.GetEmployee(ctx, connect.NewRequest(&salesappv1.GetEmployeeRequest{EmployeeId: id}))
				return err
			}},
		{procedure: salesappv1connect.EmployeeServiceListEmployeesProcedure, aim: "team_id",
			want: expect{authn.RoleAdmin: codeOK, authn.RoleManager: connect.CodePermissionDenied, authn.RoleSales: connect.CodePermissionDenied}, foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.employees.ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{TeamId: id, IncludeDisabled: true}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Employees) > 0, "%d employees", len(res.Msg.Employees))
			}},
		{procedure: salesappv1connect.EmployeeServiceUpdateEmployeeProcedure, aim: "employee_id", want: adminOnly(connect.CodeNotFound), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{EmployeeId: id, Name: ptr("hijacked")}))
				return err
			}},
		{procedure: salesappv1connect.EmployeeServiceUpdateEmployeeProcedure, aim: "team_id", want: adminOnly(connect.CodeInvalidArgument), foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.UpdateEmployee(ctx, connect.NewRequest(&salesappv1.UpdateEmployeeRequest{EmployeeId: c.w.aPeople[authn.RoleSales].ID.String(), TeamId: &id}))
				return err
			}},
		{procedure: salesappv1connect.EmployeeServiceSetLedTeamsProcedure, aim: "employee_id", want: adminOnly(connect.CodeNotFound), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.SetLedTeams(ctx, connect.NewRequest(&salesappv1.SetLedTeamsRequest{EmployeeId: id}))
				return err
			}},
		{procedure: salesappv1connect.EmployeeServiceSetLedTeamsProcedure, aim: "team_ids", want: adminOnly(connect.CodeInvalidArgument), foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.SetLedTeams(ctx, connect.NewRequest(&salesappv1.SetLedTeamsRequest{
					EmployeeId: c.w.aPeople[authn.RoleManager].ID.String(), TeamIds: []string{id}}))
				return err
			}},
		{procedure: salesappv1connect.EmployeeServiceSetEmployeeStatusProcedure, want: adminOnly(connect.CodeNotFound), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: id, Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED}))
				return err
			}},

		// Disabling names a successor or a pool: B's are references that do not exist here.
		{procedure: salesappv1connect.EmployeeServiceSetEmployeeStatusProcedure, aim: "successor_id", want: adminOnly(connect.CodeInvalidArgument), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: c.w.aPeople[authn.RoleSales].ID.String(),
					Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED, SuccessorId: id}))
				return err
			}},
		{procedure: salesappv1connect.EmployeeServiceSetEmployeeStatusProcedure, aim: "pool_id", want: adminOnly(connect.CodeInvalidArgument), foreign: bPool,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.employees.SetEmployeeStatus(ctx, connect.NewRequest(&salesappv1.SetEmployeeStatusRequest{EmployeeId: c.w.aPeople[authn.RoleSales].ID.String(),
					Status: salesappv1.EmployeeStatus_EMPLOYEE_STATUS_DISABLED, ReleaseToPool: true, PoolId: id}))
				return err
			}},

		// Handovers.
		{procedure: salesappv1connect.HandoverServiceHandOverProcedure, aim: "from_employee_id", want: adminOnly(connect.CodeNotFound), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.handovers.HandOver(ctx, connect.NewRequest(&salesappv1.HandOverRequest{FromEmployeeId: id,
					ToEmployeeIds: []string{c.w.aPeople[authn.RoleSales].ID.String()}}))
				return err
			}},
		{procedure: salesappv1connect.HandoverServiceHandOverProcedure, aim: "to_employee_ids", want: adminOnly(connect.CodeInvalidArgument), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.handovers.HandOver(ctx, connect.NewRequest(&salesappv1.HandOverRequest{FromEmployeeId: c.w.aPeople[authn.RoleSales].ID.String(),
					ToEmployeeIds: []string{id}}))
				return err
			}},
		{procedure: salesappv1connect.HandoverServiceListHandoversProcedure, aim: "from_employee_id", want: adminOnly(codeOK), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.handovers.ListHandovers(ctx, connect.NewRequest(&salesappv1.ListHandoversRequest{FromEmployeeId: id}))
				if err == nil && len(res.Msg.Handovers) > 0 {
					return connect.NewError(connect.CodeDataLoss, fmt.Errorf("B's handovers listed"))
				}
				return err
			}},

		// Passwords, invitations and sign-in records.
		{procedure: salesappv1connect.AuthServiceResetPasswordProcedure, want: adminOnly(connect.CodeNotFound), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.auth.ResetPassword(ctx, connect.NewRequest(&salesappv1.ResetPasswordRequest{EmployeeId: id}))
				return err
			}},
		{procedure: salesappv1connect.AuthServiceResendInvitationProcedure, want: adminOnly(connect.CodeNotFound), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.auth.ResendInvitation(ctx, connect.NewRequest(&salesappv1.ResendInvitationRequest{EmployeeId: id}))
				return err
			}},
		{procedure: salesappv1connect.AuthServiceListSignInsProcedure, aim: "employee_id", want: adminOnly(codeOK), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.auth.ListSignIns(ctx, connect.NewRequest(&salesappv1.ListSignInsRequest{EmployeeId: id}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Records) > 0, "%d sign-ins", len(res.Msg.Records))
			}},

		// The audit log: B's entries about B's employee (its creation) never reach A, by actor or by target.
		{procedure: salesappv1connect.AuditServiceListAuditEntriesProcedure, aim: "target_id", want: adminOnly(codeOK), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.audit.ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{TargetId: id}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Entries) > 0, "%d entries", len(res.Msg.Entries))
			}},
		{procedure: salesappv1connect.AuditServiceListAuditEntriesProcedure, aim: "actor_id", want: adminOnly(codeOK), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.audit.ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{ActorId: id}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Entries) > 0, "%d entries", len(res.Msg.Entries))
			}},

		// WeCom: B's callbacks are nobody's in A.
		{procedure: salesappv1connect.WeComServiceReplayWeComEventProcedure, want: adminOnly(connect.CodeNotFound), foreign: bWeComEvent,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := wecomOf(c.w.e, c.Token).ReplayWeComEvent(ctx, connect.NewRequest(&salesappv1.ReplayWeComEventRequest{Id: id}))
				return err
			}},

		// WeCom channel codes: B's channel is nobody's in A, nor B's salesperson one of A's employees.
		{procedure: salesappv1connect.WeComChannelServiceCreateWeComChannelProcedure, aim: "employee_ids", want: managers(connect.CodeInvalidArgument), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := salesappv1connect.NewWeComChannelServiceClient(c.w.e.HTTP, c.w.e.URL, servertest.As(c.Token)).CreateWeComChannel(ctx,
					connect.NewRequest(&salesappv1.CreateWeComChannelRequest{Fields: &salesappv1.WeComChannelFields{
						Name: "hijacked", EmployeeIds: []string{id}}}))
				return err
			}},
		{procedure: salesappv1connect.WeComChannelServiceUpdateWeComChannelProcedure, want: managers(connect.CodeNotFound), foreign: bChannel,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := salesappv1connect.NewWeComChannelServiceClient(c.w.e.HTTP, c.w.e.URL, servertest.As(c.Token)).UpdateWeComChannel(ctx,
					connect.NewRequest(&salesappv1.UpdateWeComChannelRequest{ChannelId: id, Fields: &salesappv1.WeComChannelFields{
						Name: "hijacked", EmployeeIds: []string{c.ID.String()}}}))
				return err
			}},
		// WeCom transfers: B's handover lists nothing in A.
		{procedure: salesappv1connect.WeComTransferServiceListWeComTransfersProcedure, want: adminOnly(codeOK), foreign: bHandover,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := salesappv1connect.NewWeComTransferServiceClient(c.w.e.HTTP, c.w.e.URL, servertest.As(c.Token)).ListWeComTransfers(ctx,
					connect.NewRequest(&salesappv1.ListWeComTransfersRequest{HandoverId: id}))
				if err == nil && (len(res.Msg.Transfers) > 0 || len(res.Msg.Counts) > 0) {
					return connect.NewError(connect.CodeDataLoss, fmt.Errorf("B's transfers listed"))
				}
				return err
			}},
		{procedure: salesappv1connect.WeComChannelServiceDeleteWeComChannelProcedure, want: managers(connect.CodeNotFound), foreign: bChannel,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := salesappv1connect.NewWeComChannelServiceClient(c.w.e.HTTP, c.w.e.URL, servertest.As(c.Token)).DeleteWeComChannel(ctx,
					connect.NewRequest(&salesappv1.DeleteWeComChannelRequest{ChannelId: id}))
				return err
			}},

		// Reading rules: B's rule is no rule of A's.
		{procedure: salesappv1connect.TagRuleServiceDeleteTagRuleProcedure, want: adminOnly(connect.CodeNotFound), foreign: bTagRule,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := salesappv1connect.NewTagRuleServiceClient(c.w.e.HTTP, c.w.e.URL, servertest.As(c.Token)).DeleteTagRule(ctx,
					connect.NewRequest(&salesappv1.DeleteTagRuleRequest{Id: id}))
				return err
			}},

		// Exports: B's file is nobody's in A.
		{procedure: salesappv1connect.ExportServiceGetExportProcedure, want: everyone(connect.CodeNotFound), foreign: exportOfB,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := exportsOf(c.w.e, c.Token).GetExport(ctx, connect.NewRequest(&salesappv1.GetExportRequest{ExportId: id}))
				return err
			}},

		// Rankings and dashboards (stats): B's team and people are no team or person of A's.
		{procedure: salesappv1connect.StatsServiceGetRankingsProcedure,
			want: expect{authn.RoleAdmin: connect.CodeNotFound, authn.RoleManager: connect.CodePermissionDenied, authn.RoleSales: connect.CodePermissionDenied}, foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := statsOf(c.w.e, c.Token).GetRankings(ctx, connect.NewRequest(&salesappv1.GetRankingsRequest{Metric: salesappv1.StatsMetric_STATS_METRIC_VIEWS,
					Span: &salesappv1.StatsSpan{Period: salesappv1.StatsPeriod_STATS_PERIOD_TODAY}, Team: true, TeamId: id}))
				return err
			}},
		{procedure: salesappv1connect.StatsServiceGetMyDashboardProcedure,
			want: expect{authn.RoleAdmin: connect.CodeNotFound, authn.RoleManager: connect.CodeNotFound, authn.RoleSales: connect.CodePermissionDenied}, foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := statsOf(c.w.e, c.Token).GetMyDashboard(ctx, connect.NewRequest(&salesappv1.GetMyDashboardRequest{EmployeeId: id}))
				return err
			}},
		{procedure: salesappv1connect.StatsServiceGetTeamDashboardProcedure,
			want: expect{authn.RoleAdmin: connect.CodeNotFound, authn.RoleManager: connect.CodePermissionDenied, authn.RoleSales: connect.CodePermissionDenied}, foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := statsOf(c.w.e, c.Token).GetTeamDashboard(ctx, connect.NewRequest(&salesappv1.GetTeamDashboardRequest{TeamId: id,
					Span: &salesappv1.StatsSpan{Period: salesappv1.StatsPeriod_STATS_PERIOD_THIS_MONTH}}))
				return err
			}},

		// The material library.
		{procedure: salesappv1connect.MaterialServiceListMaterialsProcedure, aim: "folder_id", want: everyone(codeOK), foreign: folder,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{FolderId: id}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Materials) > 0, "%d materials", len(res.Msg.Materials))
			}},
		{procedure: salesappv1connect.MaterialServiceGetMaterialProcedure, want: everyone(connect.CodeNotFound), foreign: published,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: id}))
				return err
			}},
		{procedure: salesappv1connect.MaterialServiceCreateMaterialProcedure, aim: "content.folder_id", want: everyone(connect.CodeInvalidArgument),
			foreign: func(w *world) string { return w.bPersonalFolder },
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
					Tier: salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL, Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE, Content: articleIn(id)}))
				return err
			}},
		{procedure: salesappv1connect.MaterialServiceCreateMaterialProcedure, aim: "content.cover_key", want: everyone(connect.CodeInvalidArgument),
			foreign: bImage, missing: freshKey,
			call: func(ctx context.Context, c caller, id string) error {
				content := articleIn("")
				content.CoverKey = id
				_, err := c.materials.CreateMaterial(ctx, connect.NewRequest(&salesappv1.CreateMaterialRequest{
					Tier: salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL, Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE, Content: content}))
				return err
			}},
		{procedure: salesappv1connect.MaterialServiceUpdateMaterialProcedure, aim: "material_id", want: everyone(connect.CodeNotFound), foreign: published,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.materials.UpdateMaterial(ctx, connect.NewRequest(&salesappv1.UpdateMaterialRequest{MaterialId: id, Content: articleIn("")}))
				return err
			}},
		{procedure: salesappv1connect.MaterialServiceUpdateMaterialProcedure, aim: "content.folder_id", want: everyone(connect.CodeInvalidArgument),
			foreign: func(w *world) string { return w.bPersonalFolder },
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.materials.UpdateMaterial(ctx, connect.NewRequest(&salesappv1.UpdateMaterialRequest{MaterialId: c.w.aPersonal[c.Role], Content: articleIn(id)}))
				return err
			}},
		{procedure: salesappv1connect.MaterialServiceDeleteMaterialProcedure, want: everyone(connect.CodeNotFound), foreign: published,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.materials.DeleteMaterial(ctx, connect.NewRequest(&salesappv1.DeleteMaterialRequest{MaterialId: id}))
				return err
			}},
		{procedure: salesappv1connect.MaterialServiceSubmitMaterialProcedure, want: everyone(connect.CodeNotFound), foreign: draft,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.materials.SubmitMaterial(ctx, connect.NewRequest(&salesappv1.SubmitMaterialRequest{MaterialId: id}))
				return err
			}},
		{procedure: salesappv1connect.MaterialServiceReviewMaterialProcedure, want: adminOnly(connect.CodeNotFound), foreign: draft,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.materials.ReviewMaterial(ctx, connect.NewRequest(&salesappv1.ReviewMaterialRequest{MaterialId: id, Approve: true}))
				return err
			}},
		{procedure: salesappv1connect.MaterialServiceGetPersonalizedPosterProcedure, want: everyone(connect.CodeNotFound), foreign: published,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.materials.GetPersonalizedPoster(ctx, connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: id, Channel: chat}))
				return err
			}},

		// Uploads, shares and cards.
		{procedure: salesappv1connect.MediaServiceFinalizeUploadProcedure, want: everyone(connect.CodePermissionDenied), foreign: bImage, missing: freshKey,
			deviation: "answers PermissionDenied, not NotFound: the key's path names its tenant, and media.Store.Finalize refuses " +
				"any key outside the caller's before looking it up (so existing and missing keys of B answer alike; " +
				"TestUploadsAreCheckedAndScopedByTenant pins the same)",
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.media.FinalizeUpload(ctx, connect.NewRequest(&salesappv1.FinalizeUploadRequest{ObjectKey: id,
					Kind: salesappv1.MediaKind_MEDIA_KIND_IMAGE, ContentType: "image/png", SizeBytes: 1}))
				return err
			}},
		// Lead pools.
		{procedure: salesappv1connect.PoolServiceCreatePoolProcedure, aim: "team_ids", want: adminOnly(connect.CodeInvalidArgument), foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.CreatePool(ctx, connect.NewRequest(&salesappv1.CreatePoolRequest{Settings: &salesappv1.PoolSettings{
					Name: "Pool " + uuid.NewString()[:8], DailyClaimCap: 5, MaxHeld: 5, TeamIds: []string{id}}}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceUpdatePoolProcedure, want: adminOnly(connect.CodeNotFound), foreign: bPool,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.UpdatePool(ctx, connect.NewRequest(&salesappv1.UpdatePoolRequest{Id: id, Settings: &salesappv1.PoolSettings{
					Name: "hijacked", DailyClaimCap: 5, MaxHeld: 5, IsDefault: true}}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceDeletePoolProcedure, aim: "id", want: adminOnly(connect.CodeNotFound), foreign: bPool,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.DeletePool(ctx, connect.NewRequest(&salesappv1.DeletePoolRequest{Id: id}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceDeletePoolProcedure, aim: "move_to_pool_id", want: adminOnly(connect.CodeNotFound), foreign: bPool,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.DeletePool(ctx, connect.NewRequest(&salesappv1.DeletePoolRequest{Id: c.w.aPool, MoveToPoolId: &id}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceListLeadsProcedure, want: everyone(connect.CodeNotFound), foreign: bPool,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.ListLeads(ctx, connect.NewRequest(&salesappv1.ListLeadsRequest{PoolId: id}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceClaimLeadProcedure, aim: "pool_id", want: everyone(connect.CodeNotFound), foreign: bPool,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.ClaimLead(ctx, connect.NewRequest(&salesappv1.ClaimLeadRequest{PoolId: id, CustomerId: c.w.bCustomer}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceClaimLeadProcedure, aim: "customer_id", want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.ClaimLead(ctx, connect.NewRequest(&salesappv1.ClaimLeadRequest{PoolId: c.w.aPool, CustomerId: id}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceReleaseCustomerProcedure, aim: "pool_id", want: everyone(connect.CodeNotFound), foreign: bPool,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.ReleaseCustomer(ctx, connect.NewRequest(&salesappv1.ReleaseCustomerRequest{PoolId: id, CustomerId: c.w.aCustomer, Reason: "hijacked"}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceReleaseCustomerProcedure, aim: "customer_id", want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.ReleaseCustomer(ctx, connect.NewRequest(&salesappv1.ReleaseCustomerRequest{PoolId: c.w.aPool, CustomerId: id, Reason: "hijacked"}))
				return err
			}},
		{procedure: salesappv1connect.PoolServiceImportLeadsProcedure, want: adminOnly(connect.CodeNotFound), foreign: bPool,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.pools.ImportLeads(ctx, connect.NewRequest(&salesappv1.ImportLeadsRequest{PoolId: id, Csv: []byte("name,phone\nMole,13800000077\n")}))
				return err
			}},
		// Marketing tasks.
		{procedure: salesappv1connect.TaskServiceGetTaskProcedure, want: everyone(connect.CodeNotFound), foreign: bTask,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.GetTask(ctx, connect.NewRequest(&salesappv1.GetTaskRequest{Id: id}))
				return err
			}},
		{procedure: salesappv1connect.TaskServiceUpdateTaskProcedure, want: everyone(connect.CodeNotFound), foreign: bTask,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.UpdateTask(ctx, connect.NewRequest(&salesappv1.UpdateTaskRequest{Id: id, Title: "hijacked",
					Targets: &salesappv1.TaskCounts{Views: 1}, EndsAt: timestamppb.New(time.Now().Add(time.Hour))}))
				return err
			}},
		{procedure: salesappv1connect.TaskServiceCancelTaskProcedure, want: everyone(connect.CodeNotFound), foreign: bTask,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.CancelTask(ctx, connect.NewRequest(&salesappv1.CancelTaskRequest{Id: id}))
				return err
			}},
		{procedure: salesappv1connect.TaskServiceClaimTaskProcedure, want: everyone(connect.CodeNotFound), foreign: bTask,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.ClaimTask(ctx, connect.NewRequest(&salesappv1.ClaimTaskRequest{Id: id}))
				return err
			}},
		{procedure: salesappv1connect.TaskServiceGetTaskProgressProcedure, want: everyone(connect.CodeNotFound), foreign: bTask,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.GetTaskProgress(ctx, connect.NewRequest(&salesappv1.GetTaskProgressRequest{Id: id}))
				return err
			}},
		{procedure: salesappv1connect.TaskServiceListTaskReachProcedure, aim: "id", want: everyone(connect.CodeNotFound), foreign: bTask,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.ListTaskReach(ctx, connect.NewRequest(&salesappv1.ListTaskReachRequest{Id: id}))
				return err
			}},
		// The employee filters the task's reach: an admin gets nothing; a manager cannot place them in their team; a
		// salesperson may read only their own.
		{procedure: salesappv1connect.TaskServiceListTaskReachProcedure, aim: "employee_id", want: expect{authn.RoleAdmin: codeOK,
			authn.RoleManager: connect.CodeNotFound, authn.RoleSales: connect.CodePermissionDenied}, foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.tasks.ListTaskReach(ctx, connect.NewRequest(&salesappv1.ListTaskReachRequest{Id: c.w.aTask, EmployeeId: id}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Customers) > 0, "%d of B's customers", len(res.Msg.Customers))
			}},
		{procedure: salesappv1connect.TaskServiceCreateTaskProcedure, aim: "team_ids", want: adminOnly(connect.CodeInvalidArgument), foreign: team,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.CreateTask(ctx, connect.NewRequest(taskDraft(func(r *salesappv1.CreateTaskRequest) {
					r.Audience, r.TeamIds = salesappv1.TaskAudience_TASK_AUDIENCE_TEAMS, []string{id}
				})))
				return err
			}},
		{procedure: salesappv1connect.TaskServiceCreateTaskProcedure, aim: "employee_ids", want: expect{authn.RoleAdmin: connect.CodeInvalidArgument,
			authn.RoleManager: connect.CodeInvalidArgument, authn.RoleSales: connect.CodePermissionDenied}, foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.CreateTask(ctx, connect.NewRequest(taskDraft(func(r *salesappv1.CreateTaskRequest) {
					r.Audience, r.EmployeeIds = salesappv1.TaskAudience_TASK_AUDIENCE_EMPLOYEES, []string{id}
				})))
				return err
			}},
		{procedure: salesappv1connect.TaskServiceCreateTaskProcedure, aim: "material_ids", want: expect{authn.RoleAdmin: connect.CodeInvalidArgument,
			authn.RoleManager: connect.CodePermissionDenied, authn.RoleSales: connect.CodePermissionDenied}, foreign: published,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.tasks.CreateTask(ctx, connect.NewRequest(taskDraft(func(r *salesappv1.CreateTaskRequest) { r.MaterialIds = []string{id} })))
				return err
			}},
		{procedure: salesappv1connect.ShareServiceShareCardProcedure, aim: "task_id", want: everyone(connect.CodeNotFound), foreign: bTask,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{Channel: chat, TaskId: id}))
				return err
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "claim_task.task_id", want: everyone(connect.CodeNotFound), foreign: bTask,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_ClaimTask{ClaimTask: &salesappv1.ClaimTask{TaskId: id}}})
			}},
		{procedure: salesappv1connect.ShareServiceShareMaterialProcedure, want: everyone(connect.CodeNotFound), foreign: published,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: id, Channel: chat}))
				return err
			}},
		{procedure: salesappv1connect.ShareServiceGetShareStatsProcedure,
			want: everyone(connect.CodeNotFound), foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.shares.GetShareStats(ctx, connect.NewRequest(&salesappv1.GetShareStatsRequest{EmployeeId: id}))
				if err != nil {
					return err
				}
				return leakIf(res.Msg.Shares != 0 || res.Msg.Forwards != 0, "B's counts: %d shares, %d forwards", res.Msg.Shares, res.Msg.Forwards)
			}},
		{procedure: salesappv1connect.CardServiceUpdateMyCardProcedure, aim: "featured_material_ids", want: everyone(connect.CodeInvalidArgument), foreign: published,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{FeaturedMaterialIds: &salesappv1.StringList{Values: []string{id}}}))
				return err
			}},
		{procedure: salesappv1connect.CardServiceUpdateMyCardProcedure, aim: "avatar_key", want: everyone(connect.CodeInvalidArgument), foreign: bImage, missing: freshKey,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{AvatarKey: &id}))
				return err
			}},
		{procedure: salesappv1connect.CardServiceUpdateCompanyProfileProcedure, aim: "logo_key", want: adminOnly(connect.CodeInvalidArgument), foreign: bImage, missing: freshKey,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.cards.UpdateCompanyProfile(ctx, connect.NewRequest(&salesappv1.UpdateCompanyProfileRequest{LogoKey: &id}))
				return err
			}},

		// Customers and notes.
		{procedure: salesappv1connect.CustomerServiceListCustomersProcedure, aim: "material_id", want: everyone(codeOK), foreign: published,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.customers.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{MaterialId: id}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Customers) > 0, "%d customers", len(res.Msg.Customers))
			}},
		{procedure: salesappv1connect.CustomerServiceListCustomersProcedure, aim: "owner_id",
			want: expect{authn.RoleAdmin: codeOK, authn.RoleManager: connect.CodePermissionDenied, authn.RoleSales: connect.CodePermissionDenied}, foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.customers.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{OwnerId: id}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Customers) > 0, "%d customers", len(res.Msg.Customers))
			}},
		{procedure: salesappv1connect.CustomerServiceGetCustomerProcedure, want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.customers.GetCustomer(ctx, connect.NewRequest(&salesappv1.GetCustomerRequest{CustomerId: id}))
				return err
			}},
		{procedure: salesappv1connect.CustomerServiceGetTimelineProcedure, want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.customers.GetTimeline(ctx, connect.NewRequest(&salesappv1.GetTimelineRequest{CustomerId: id}))
				return err
			}},
		{procedure: salesappv1connect.CustomerServiceUpdateCustomerProcedure, want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.customers.UpdateCustomer(ctx, connect.NewRequest(&salesappv1.UpdateCustomerRequest{CustomerId: id, Remark: ptr("hijacked"),
					Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_LOST, Tags: &salesappv1.TagList{Values: []string{"hijacked"}}}))
				return err
			}},
		{procedure: salesappv1connect.CustomerServiceAddNoteProcedure, want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.customers.AddNote(ctx, connect.NewRequest(&salesappv1.AddNoteRequest{CustomerId: id, Kind: "note", Body: "hijacked"}))
				return err
			}},
		{procedure: salesappv1connect.CustomerServiceAssignCustomerProcedure, aim: "customer_id",
			want: expect{authn.RoleAdmin: connect.CodeNotFound, authn.RoleManager: connect.CodeNotFound, authn.RoleSales: connect.CodePermissionDenied}, foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.customers.AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: id, OwnerId: c.ID.String()}))
				return err
			}},
		{procedure: salesappv1connect.CustomerServiceAssignCustomerProcedure, aim: "owner_id",
			want: expect{authn.RoleAdmin: connect.CodeInvalidArgument, authn.RoleManager: connect.CodeInvalidArgument, authn.RoleSales: connect.CodePermissionDenied}, foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.customers.AssignCustomer(ctx, connect.NewRequest(&salesappv1.AssignCustomerRequest{CustomerId: c.w.aCustomer, OwnerId: id}))
				return err
			}},

		// Sessions: another's session is NotFound; listing another's is for admins, and shows nothing of B's.
		{procedure: salesappv1connect.SessionServiceRevokeSessionProcedure, want: everyone(connect.CodeNotFound),
			foreign: func(w *world) string { return w.bSales.SessionID.String() },
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.sessions.RevokeSession(ctx, connect.NewRequest(&salesappv1.RevokeSessionRequest{SessionId: id}))
				return err
			}},
		{procedure: salesappv1connect.SessionServiceListSessionsProcedure, aim: "employee_id", foreign: employee,
			want: expect{authn.RoleAdmin: codeOK, authn.RoleManager: connect.CodePermissionDenied, authn.RoleSales: connect.CodePermissionDenied},
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.sessions.ListSessions(ctx, connect.NewRequest(&salesappv1.ListSessionsRequest{EmployeeId: id}))
				if err != nil {
					return err
				}
				return leakIf(len(res.Msg.Sessions) > 0, "%d sessions", len(res.Msg.Sessions))
			}},

		// Devices and sync: a device id is the caller's own namespace.
		{procedure: salesappv1connect.AlertServiceRegisterDeviceProcedure, aim: "device_id and B's push token", want: everyone(codeOK), foreign: device, missing: freshDevice,
			call: func(ctx context.Context, c caller, id string) error {
				_, err := c.alerts.RegisterDevice(ctx, connect.NewRequest(&salesappv1.RegisterDeviceRequest{DeviceId: id, Platform: "ios", PushToken: c.w.bPushToken}))
				return err
			}},
		{procedure: salesappv1connect.SyncServicePullProcedure, aim: "device_id", want: everyone(codeOK), foreign: device, missing: freshDevice,
			call: func(ctx context.Context, c caller, id string) error {
				res, err := c.sync.Pull(ctx, connect.NewRequest(&salesappv1.PullRequest{DeviceId: id, SchemaVersion: 1}))
				if err != nil {
					return err
				}
				for _, ch := range res.Msg.Changes {
					if c.w.bIDs[ch.Id] {
						return leakIf(true, "%s %s", ch.Kind, ch.Id)
					}
				}
				return nil
			}},
		{procedure: salesappv1connect.SyncServicePullProcedure, aim: "B's cursor", want: everyone(codeOK),
			foreign: func(w *world) string { return w.bCursor },
			missing: func(w *world) string {
				return delta.Cursor{Epoch: 1, Rules: delta.RulesVersion, Tenant: uuid.New(), Employee: uuid.New()}.Encode()
			},
			call: func(ctx context.Context, c caller, cursor string) error {
				res, err := c.sync.Pull(ctx, connect.NewRequest(&salesappv1.PullRequest{DeviceId: c.w.bDevice, SchemaVersion: 1, Cursor: cursor}))
				if err != nil {
					return err
				}
				return leakIf(!res.Msg.MustReset || len(res.Msg.Changes) > 0, "another's cursor was continued (%d changes)", len(res.Msg.Changes))
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "add_note.customer_id", want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_AddNote{AddNote: &salesappv1.AddNote{NoteId: uuid.NewString(), CustomerId: id, Kind: "note", Body: "hijacked"}}})
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "add_note.note_id", want: everyone(codeOK), foreign: note,
			// Note ids are unique per tenant (migration 018): B's note id is as free in A as a fresh one. The note
			// is deleted again so the rows after this one aim at B's note, not at A's copy.
			call: func(ctx context.Context, c caller, id string) error {
				added := c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_AddNote{AddNote: &salesappv1.AddNote{NoteId: id, CustomerId: c.w.aCustomer, Kind: "note", Body: "mine"}}})
				if added == nil {
					if err := c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_DeleteNote{DeleteNote: &salesappv1.DeleteNote{NoteId: id}}}); err != nil {
						return fmt.Errorf("deleting the note again: %w", err)
					}
				}
				return added
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "edit_note.note_id", want: everyone(connect.CodeNotFound), foreign: note,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_EditNote{EditNote: &salesappv1.EditNote{NoteId: id, Body: "hijacked"}}})
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "delete_note.note_id", want: everyone(connect.CodeNotFound), foreign: note,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_DeleteNote{DeleteNote: &salesappv1.DeleteNote{NoteId: id}}})
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "set_stage.customer_id", want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_SetStage{SetStage: &salesappv1.SetStage{CustomerId: id, Stage: salesappv1.CustomerStage_CUSTOMER_STAGE_LOST}}})
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "tag_customer.customer_id", want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_TagCustomer{TagCustomer: &salesappv1.TagCustomer{CustomerId: id, Tag: "hijacked"}}})
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "untag_customer.customer_id", want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_UntagCustomer{UntagCustomer: &salesappv1.UntagCustomer{CustomerId: id, Tag: "vip"}}})
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "edit_customer.customer_id", want: everyone(connect.CodeNotFound), foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_EditCustomer{EditCustomer: &salesappv1.EditCustomer{CustomerId: id, Remark: ptr("hijacked")}}})
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "assign_customer.customer_id",
			want: expect{authn.RoleAdmin: connect.CodeNotFound, authn.RoleManager: connect.CodeNotFound, authn.RoleSales: connect.CodePermissionDenied}, foreign: customer,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_AssignCustomer{AssignCustomer: &salesappv1.AssignCustomer{CustomerId: id, OwnerId: c.ID.String()}}})
			}},
		{procedure: salesappv1connect.SyncServicePushProcedure, aim: "assign_customer.owner_id",
			want: expect{authn.RoleAdmin: connect.CodeInvalidArgument, authn.RoleManager: connect.CodeInvalidArgument, authn.RoleSales: connect.CodePermissionDenied}, foreign: employee,
			call: func(ctx context.Context, c caller, id string) error {
				return c.push(ctx, &salesappv1.Mutation{Op: &salesappv1.Mutation_AssignCustomer{AssignCustomer: &salesappv1.AssignCustomer{CustomerId: c.w.aCustomer, OwnerId: id}}})
			}},
	}
}

// taskDraft is a valid tenant-wide task to claim, changed by edit.
func taskDraft(edit func(*salesappv1.CreateTaskRequest)) *salesappv1.CreateTaskRequest {
	r := &salesappv1.CreateTaskRequest{Title: "Spring push", Targets: &salesappv1.TaskCounts{Views: 3},
		StartsAt: timestamppb.New(time.Now().Add(-time.Hour)), EndsAt: timestamppb.New(time.Now().Add(7 * 24 * time.Hour)),
		Audience: salesappv1.TaskAudience_TASK_AUDIENCE_TENANT, ClaimRequired: true}
	if edit != nil {
		edit(r)
	}
	return r
}

// leakIf fails a call whose answer shows something of B's.
func leakIf(leaked bool, format string, args ...any) error {
	if !leaked {
		return nil
	}
	return connect.NewError(connect.CodeDataLoss, fmt.Errorf("another tenant's data leaked: "+format, args...))
}

// world is the two tenants: B's things are what A's people aim at.
type world struct {
	e      *servertest.Env
	a, b   servertest.Tenant
	bTeam  uuid.UUID
	bSales servertest.Person
	// aPeople are A's callers by role; the manager and the salesperson are in one team.
	aPeople map[authn.Role]servertest.Person
	// aPersonal is a personal material of each of A's callers; aCustomer a customer all three may see.
	aPersonal map[authn.Role]string
	aCustomer string
	// aTask is a task of A's admin, claimed by A's salesperson (a manager of their team may read it).
	aTask string
	// aPool is A's default lead pool, open to everyone.
	aPool string

	bMaterial, bDraft, bFolder, bPersonalFolder, bImage, bCustomer, bNote, bDevice, bPushToken, bCursor, bExport, bTask, bPool string
	// bWeComEvent is a callback B received from WeCom.
	bWeComEvent string
	// bChannel is a WeCom channel code of B's.
	bChannel string
	// bHandover is a handover of B's with a WeCom transfer.
	bHandover string
	// bTagRule is a reading rule of B's.
	bTagRule string
	// bIDs holds every id of B's things, for spotting them in answers.
	bIDs map[string]bool
}

// caller is one of A's people with a client of every service.
type caller struct {
	servertest.Person
	w         *world
	teams     salesappv1connect.TeamServiceClient
	employees salesappv1connect.EmployeeServiceClient
	materials salesappv1connect.MaterialServiceClient
	media     salesappv1connect.MediaServiceClient
	shares    salesappv1connect.ShareServiceClient
	cards     salesappv1connect.CardServiceClient
	customers salesappv1connect.CustomerServiceClient
	alerts    salesappv1connect.AlertServiceClient
	sync      salesappv1connect.SyncServiceClient
	sessions  salesappv1connect.SessionServiceClient
	auth      salesappv1connect.AuthServiceClient
	audit     salesappv1connect.AuditServiceClient
	tasks     salesappv1connect.TaskServiceClient
	pools     salesappv1connect.PoolServiceClient
	handovers salesappv1connect.HandoverServiceClient
}

func (w *world) caller(p servertest.Person) caller {
	c := clientsOf(w.e, p.Token)
	o := servertest.As(p.Token)
	return caller{Person: p, w: w, teams: teams(w.e, p.Token), employees: employees(w.e, p.Token),
		materials: c.materials, media: c.media, shares: c.shares, cards: c.cards, customers: customers(w.e, p.Token),
		alerts: alertsOf(w.e, p.Token), sync: salesappv1connect.NewSyncServiceClient(w.e.HTTP, w.e.URL, o), sessions: sessionsOf(w.e, p.Token),
		auth: salesappv1connect.NewAuthServiceClient(w.e.HTTP, w.e.URL, o), audit: auditOf(w.e, p.Token),
		tasks: salesappv1connect.NewTaskServiceClient(w.e.HTTP, w.e.URL, o), pools: salesappv1connect.NewPoolServiceClient(w.e.HTTP, w.e.URL, o),
		handovers: salesappv1connect.NewHandoverServiceClient(w.e.HTTP, w.e.URL, o)}
}

// push sends one mutation from a fresh device and turns a mutation it did not apply into the error
// (with the code) an RPC would have answered.
func (c caller) push(ctx context.Context, m *salesappv1.Mutation) error {
	m.Id = 1
	res, err := c.sync.Push(ctx, connect.NewRequest(&salesappv1.PushRequest{DeviceId: "phone-" + uuid.NewString()[:8], SchemaVersion: 1,
		Mutations: []*salesappv1.Mutation{m}}))
	if err != nil {
		return err
	}
	r := res.Msg.Results[0]
	if r.Outcome == salesappv1.MutationResult_OUTCOME_APPLIED {
		return nil
	}
	var code connect.Code
	if err := code.UnmarshalText([]byte(r.Code)); err != nil {
		return fmt.Errorf("mutation %s with code %q: %w", r.Outcome, r.Code, err)
	}
	return connect.NewError(code, fmt.Errorf("%s: %s", r.Outcome, r.Message))
}

// newWorld makes tenant A with an admin, a manager and a salesperson, and tenant B with one of everything
// an id can name: team, employees, materials (published, draft, personal), folders, a share, a card, an
// upload, a customer with a note and an alert, a push device.
func newWorld(t *testing.T, e *servertest.Env) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{e: e, a: e.NewTenant(t, "Tenant A", 0), b: e.NewTenant(t, "Tenant B", 0), bIDs: map[string]bool{}}

	aTeam := e.NewTeam(t, w.a.ID, "A team")
	w.aPeople = map[authn.Role]servertest.Person{authn.RoleAdmin: w.a.Admin,
		authn.RoleManager: e.NewPerson(t, w.a.ID, authn.RoleManager, aTeam), authn.RoleSales: e.NewPerson(t, w.a.ID, authn.RoleSales, aTeam)}
	w.aPersonal = map[authn.Role]string{}
	for role, p := range w.aPeople {
		w.aPersonal[role] = createArticle(t, clientsOf(e, p.Token), salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL, "A's own").Id
	}
	aAdmin, aSales := clientsOf(e, w.a.Admin.Token), w.aPeople[authn.RoleSales]
	aArticle := createArticle(t, aAdmin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "A plan")
	publish(t, aAdmin, aArticle.Id)
	aShare, err := clientsOf(e, aSales.Token).shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: aArticle.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	w.aCustomer = customerOf(t, e, aSales, aShare.Msg.Share.Token, "visitor-a001")
	aTasks := salesappv1connect.NewTaskServiceClient(e.HTTP, e.URL, servertest.As(w.a.Admin.Token))
	aTask, err := aTasks.CreateTask(ctx, connect.NewRequest(taskDraft(nil)))
	require.NoError(t, err)
	w.aTask = aTask.Msg.Task.Id
	_, err = salesappv1connect.NewTaskServiceClient(e.HTTP, e.URL, servertest.As(aSales.Token)).ClaimTask(ctx,
		connect.NewRequest(&salesappv1.ClaimTaskRequest{Id: w.aTask}))
	require.NoError(t, err)

	w.bTeam = e.NewTeam(t, w.b.ID, "B team")
	bMgr := e.NewPerson(t, w.b.ID, authn.RoleManager, w.bTeam)
	w.bSales = e.NewPerson(t, w.b.ID, authn.RoleSales, w.bTeam)
	bAdmin, bSales := clientsOf(e, w.b.Admin.Token), clientsOf(e, w.bSales.Token)
	w.bMaterial = createArticle(t, bAdmin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "B plan").Id
	publish(t, bAdmin, w.bMaterial)
	w.bDraft = createArticle(t, bAdmin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "B draft").Id
	bPersonal := createArticle(t, bSales, salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL, "B's own").Id
	f, err := bAdmin.materials.CreateFolder(ctx, connect.NewRequest(&salesappv1.CreateFolderRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, Name: "B folder"}))
	require.NoError(t, err)
	w.bFolder = f.Msg.Folder.Id
	f, err = bSales.materials.CreateFolder(ctx, connect.NewRequest(&salesappv1.CreateFolderRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_PERSONAL, Name: "B's own folder"}))
	require.NoError(t, err)
	w.bPersonalFolder = f.Msg.Folder.Id
	w.bImage = upload(t, bAdmin, salesappv1.MediaKind_MEDIA_KIND_IMAGE, "image/png", pngOf(t, 40, 20))
	_, err = bAdmin.cards.UpdateCompanyProfile(ctx, connect.NewRequest(&salesappv1.UpdateCompanyProfileRequest{CompanyName: ptr("B Inc"), LogoKey: &w.bImage}))
	require.NoError(t, err)
	_, err = bSales.cards.UpdateMyCard(ctx, connect.NewRequest(&salesappv1.UpdateMyCardRequest{Title: ptr("B advisor"),
		FeaturedMaterialIds: &salesappv1.StringList{Values: []string{w.bMaterial}}}))
	require.NoError(t, err)
	bShare, err := bSales.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: w.bMaterial, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	w.bCustomer = customerOf(t, e, w.bSales, bShare.Msg.Share.Token, "visitor-b001")
	_, err = customers(e, w.bSales.Token).UpdateCustomer(ctx, connect.NewRequest(&salesappv1.UpdateCustomerRequest{CustomerId: w.bCustomer, Tags: &salesappv1.TagList{Values: []string{"vip"}}}))
	require.NoError(t, err)
	n, err := customers(e, w.bSales.Token).AddNote(ctx, connect.NewRequest(&salesappv1.AddNoteRequest{CustomerId: w.bCustomer, Kind: "note", Body: "B's note"}))
	require.NoError(t, err)
	w.bNote = n.Msg.Note.Id
	bTask, err := salesappv1connect.NewTaskServiceClient(e.HTTP, e.URL, servertest.As(w.b.Admin.Token)).CreateTask(ctx, connect.NewRequest(taskDraft(nil)))
	require.NoError(t, err)
	w.bTask = bTask.Msg.Task.Id
	_, err = salesappv1connect.NewTaskServiceClient(e.HTTP, e.URL, servertest.As(w.bSales.Token)).ClaimTask(ctx,
		connect.NewRequest(&salesappv1.ClaimTaskRequest{Id: w.bTask}))
	require.NoError(t, err)
	_, err = bSales.shares.ShareCard(ctx, connect.NewRequest(&salesappv1.ShareCardRequest{Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT, TaskId: w.bTask}))
	require.NoError(t, err)
	poolSettings := &salesappv1.PoolSettings{Name: "Leads", DailyClaimCap: 5, MaxHeld: 5}
	aPool, err := salesappv1connect.NewPoolServiceClient(e.HTTP, e.URL, servertest.As(w.a.Admin.Token)).CreatePool(ctx,
		connect.NewRequest(&salesappv1.CreatePoolRequest{Settings: poolSettings}))
	require.NoError(t, err)
	w.aPool = aPool.Msg.Pool.Id
	bPool, err := salesappv1connect.NewPoolServiceClient(e.HTTP, e.URL, servertest.As(w.b.Admin.Token)).CreatePool(ctx,
		connect.NewRequest(&salesappv1.CreatePoolRequest{Settings: poolSettings}))
	require.NoError(t, err)
	w.bPool = bPool.Msg.Pool.Id
	w.bDevice, w.bPushToken = "b-phone-0001", "b-push-token-0001"
	_, err = alertsOf(e, w.bSales.Token).RegisterDevice(ctx, connect.NewRequest(&salesappv1.RegisterDeviceRequest{DeviceId: w.bDevice, Platform: "ios", PushToken: w.bPushToken}))
	require.NoError(t, err)
	pulled, err := salesappv1connect.NewSyncServiceClient(e.HTTP, e.URL, servertest.As(w.bSales.Token)).Pull(ctx,
		connect.NewRequest(&salesappv1.PullRequest{DeviceId: w.bDevice, SchemaVersion: 1}))
	require.NoError(t, err)
	w.bCursor = pulled.Msg.NextCursor
	// B's salesperson signs in with a password: B has sign-in records, an employee password and (voided)
	// invitations to aim at.
	e.SetLogin(t, w.b.ID, w.bSales.ID, "13900000009", "b's password")
	_, err = signIn(e, "13900000009", "b's password", w.bDevice)
	require.NoError(t, err)
	// B's salesperson asked for an export of their customers.
	exp, err := exportsOf(e, w.bSales.Token).CreateCustomerExport(ctx, connect.NewRequest(&salesappv1.CreateCustomerExportRequest{
		Format: salesappv1.ExportFormat_EXPORT_FORMAT_CSV}))
	require.NoError(t, err)
	w.bExport = exp.Msg.Export.Id
	require.Eventually(t, func() bool { // made before B's rows are snapshot
		got, err := exportsOf(e, w.bSales.Token).GetExport(ctx, connect.NewRequest(&salesappv1.GetExportRequest{ExportId: w.bExport}))
		return err == nil && got.Msg.Export.Status != salesappv1.ExportStatus_EXPORT_STATUS_PENDING
	}, 30*time.Second, 20*time.Millisecond)
	// B's WeCom sent a callback, processed before B's rows are snapshot.
	_, err = configureWeCom(t, e, w.b, e.WeCom.CorpID).Send(ctx,
		wecomtest.ExternalContactEvent(e.WeCom.CorpID, "add_external_contact", "bsales", "wmB", 1733390000, "", ""))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		res, err := wecomOf(e, w.b.Admin.Token).ListWeComEvents(ctx, connect.NewRequest(&salesappv1.ListWeComEventsRequest{}))
		if err != nil || len(res.Msg.Events) != 1 || res.Msg.Events[0].Status == "pending" {
			return false
		}
		w.bWeComEvent = res.Msg.Events[0].Id
		return true
	}, 30*time.Second, 20*time.Millisecond)
	// B has a channel code to their salesperson.
	_, err = e.DB.Super.Exec(ctx, "UPDATE employees SET wecom_userid = 'bsales' WHERE id = $1", w.bSales.ID)
	require.NoError(t, err)
	e.WeCom.AddUser(wecomapi.User{UserID: "bsales", Name: "B sales"})
	ch, err := salesappv1connect.NewWeComChannelServiceClient(e.HTTP, e.URL, servertest.As(w.b.Admin.Token)).CreateWeComChannel(ctx,
		connect.NewRequest(&salesappv1.CreateWeComChannelRequest{Fields: &salesappv1.WeComChannelFields{Name: "B fair",
			EmployeeIds: []string{w.bSales.ID.String()}, Tags: []string{"fair"}, WelcomeMiniProgram: true}}))
	require.NoError(t, err)
	require.True(t, ch.Msg.Channel.WelcomeMiniProgram, "the welcome's card kind comes back")
	w.bChannel = ch.Msg.Channel.Id
	// B has a handover whose WeCom transfer of B's customer is recorded.
	w.bHandover = uuid.NewString()
	_, err = e.DB.Super.Exec(ctx, `INSERT INTO wecom_transfers (tenant_id, handover_id, customer_id, external_userid, handover_userid,
		takeover_userid, resigned) VALUES ($1, $2, $3, 'wmB', 'bsales', 'bother', false)`, w.b.ID, w.bHandover, w.bCustomer)
	require.NoError(t, err)
	// B has a reading rule.
	rule, err := salesappv1connect.NewTagRuleServiceClient(e.HTTP, e.URL, servertest.As(w.b.Admin.Token)).CreateTagRule(ctx,
		connect.NewRequest(&salesappv1.CreateTagRuleRequest{MaterialTag: "fair", MinReads: 2, CustomerTag: "fair fan"}))
	require.NoError(t, err)
	w.bTagRule = rule.Msg.Rule.Id
	unread, err := alertsOf(e, w.bSales.Token).GetUnreadCount(ctx, connect.NewRequest(&salesappv1.GetUnreadCountRequest{}))
	require.NoError(t, err)
	require.Positive(t, unread.Msg.Unread, "B's salesperson has alerts")

	for _, id := range []string{w.b.ID.String(), w.b.Admin.ID.String(), bMgr.ID.String(), w.bSales.ID.String(), w.bTeam.String(),
		w.bMaterial, w.bDraft, bPersonal, w.bFolder, w.bPersonalFolder, bShare.Msg.Share.Id, w.bCustomer, w.bNote, w.bSales.SessionID.String(),
		w.bExport, w.bTask, w.bWeComEvent, w.bPool, w.bChannel, w.bHandover, w.bTagRule} {
		w.bIDs[id] = true
	}
	return w
}

// backgroundCounters are tables no RPC writes, which background work keeps current on its own clock: the
// hourly usage measure (tenant_usage, whose first run races the test's setup) and the pushes counted per node
// and added every few seconds (push_days). They would change under any call, not because of one.
var backgroundCounters = map[string]bool{"tenant_usage": true, "push_days": true}

// tenantSnapshot is every row of the tenant, table by table, as text. It is read inside a transaction
// scoped to the tenant, so it holds whether or not row-level security is forced on the table owner.
func tenantSnapshot(t *testing.T, e *servertest.Env, tenantID uuid.UUID) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.DB.Super.Query(ctx, `SELECT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' ORDER BY 1`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "customer_notes")
	out := map[string]string{}
	tx, err := e.DB.Super.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	_, err = tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", tenantID.String())
	require.NoError(t, err)
	for _, table := range append(tables, "tenants") {
		if backgroundCounters[table] {
			continue
		}
		where := "tenant_id"
		if table == "tenants" {
			where = "id"
		}
		var rowsOf string
		require.NoError(t, tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) || ' rows ' || coalesce(md5(string_agg(x::text, E'\n' ORDER BY x::text)), '')
			FROM %s x WHERE %s = $1`, pgx.Identifier{table}.Sanitize(), where), tenantID).Scan(&rowsOf))
		out[table] = rowsOf
	}
	return out
}

// waitForJobs waits until River has nothing left to do now (thumbnails, pushes), so that only the calls
// under test can change anything.
func waitForJobs(t *testing.T, e *servertest.Env) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, e.DB.Owner.QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE state IN ('available', 'running', 'retryable', 'pending') OR (state = 'scheduled' AND scheduled_at < now() + interval '1 minute')`).Scan(&n))
		return n == 0
	}, 30*time.Second, 50*time.Millisecond, "River's jobs did not settle")
}

func codeOf(err error) connect.Code {
	if err == nil {
		return codeOK
	}
	return connect.CodeOf(err)
}

func codeName(c connect.Code) string {
	if c == codeOK {
		return "ok"
	}
	return c.String()
}

func TestTenantCannotReachAnotherTenantThroughAnyRPC(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	w := newWorld(t, e)
	waitForJobs(t, e)
	before := tenantSnapshot(t, e, w.b.ID)
	for _, table := range []string{"employees", "teams", "materials", "material_folders", "shares", "cards", "uploads", "company_profiles",
		"customers", "customer_notes", "events", "alerts", "devices", "sessions", "employee_passwords", "invitations", "signin_records",
		"stats_employee_days", "stats_visitor_days", "stats_material_days"} {
		require.False(t, strings.HasPrefix(before[table], "0 rows"), "B has no %s to aim at", table)
	}

	roles := []authn.Role{authn.RoleAdmin, authn.RoleManager, authn.RoleSales}
	for _, row := range crossTenantRows() {
		name := strings.TrimPrefix(row.procedure, "/salesapp.v1.")
		if row.aim != "" {
			name += " " + row.aim
		}
		t.Run(name, func(t *testing.T) {
			if row.deviation != "" {
				t.Logf("known deviation: %s", row.deviation)
			}
			for _, role := range roles {
				c := w.caller(w.aPeople[role])
				foreign := row.foreign(w)
				got := row.call(ctx, c, foreign)
				want, ok := row.want[role]
				require.True(t, ok, "the row names no answer for %s", role)
				require.Equal(t, codeName(want), codeName(codeOf(got)), "%s with B's id %s: %v", role, foreign, got)
				if row.deviation != "" {
					continue
				}
				missing := uuid.NewString()
				if row.missing != nil {
					missing = row.missing(w)
				}
				absent := row.call(ctx, c, missing)
				require.Equal(t, codeName(codeOf(absent)), codeName(codeOf(got)),
					"%s: B's id must be answered as an id that names nothing (%v / %v)", role, got, absent)
			}
			require.Equal(t, before, tenantSnapshot(t, e, w.b.ID), "B's rows changed")
		})
	}

	// Lists without an id show A's things only.
	t.Run("lists", func(t *testing.T) {
		for _, role := range roles {
			c := w.caller(w.aPeople[role])
			var seen []string
			ms, err := c.materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{PageSize: 100}))
			require.NoError(t, err)
			for _, m := range ms.Msg.Materials {
				seen = append(seen, m.Id)
			}
			fs, err := c.materials.ListFolders(ctx, connect.NewRequest(&salesappv1.ListFoldersRequest{}))
			require.NoError(t, err)
			for _, f := range fs.Msg.Folders {
				seen = append(seen, f.Id)
			}
			cs, err := c.customers.ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
			require.NoError(t, err)
			for _, cu := range cs.Msg.Customers {
				seen = append(seen, cu.Id, cu.OwnerId)
			}
			ts, err := c.teams.ListTeams(ctx, connect.NewRequest(&salesappv1.ListTeamsRequest{}))
			require.NoError(t, err)
			for _, tm := range ts.Msg.Teams {
				seen = append(seen, tm.Id)
			}
			if role == authn.RoleAdmin {
				es, err := c.employees.ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{IncludeDisabled: true, PageSize: 200}))
				require.NoError(t, err)
				require.Len(t, es.Msg.Employees, 3, "no employee was added by the calls above")
				for _, em := range es.Msg.Employees {
					seen = append(seen, em.Id, em.TeamId)
				}
			}
			for _, id := range seen {
				require.False(t, w.bIDs[id], "%s sees B's %s", role, id)
			}
		}
	})

	// B is exactly as it was: every row of every tenant table, and its stored objects.
	require.Equal(t, before, tenantSnapshot(t, e, w.b.ID))
	_, err := e.Store.Stat(ctx, w.bImage)
	require.NoError(t, err, "B's upload is still stored")
	// And B's people still work as before.
	bl, err := employees(e, w.b.Admin.Token).ListEmployees(ctx, connect.NewRequest(&salesappv1.ListEmployeesRequest{}))
	require.NoError(t, err)
	require.Len(t, bl.Msg.Employees, 3)
}

// idField reports whether a request field names a thing by id or by storage key.
func idField(name string) bool {
	return name == "id" || strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "_ids") ||
		strings.HasSuffix(name, "_key") || strings.HasSuffix(name, "_keys")
}

// idFields lists the id fields of a message and of the messages inside it, by path.
func idFields(md protoreflect.MessageDescriptor, prefix string, path map[protoreflect.FullName]bool) []string {
	if path[md.FullName()] {
		return nil
	}
	path[md.FullName()] = true
	defer delete(path, md.FullName())
	var out []string
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		if idField(string(f.Name())) {
			out = append(out, prefix+string(f.Name()))
		}
		if f.Message() != nil && !f.IsMap() {
			out = append(out, idFields(f.Message(), prefix+string(f.Name())+".", path)...)
		}
	}
	return out
}

// rpcsTakingIDs maps every procedure of the API whose request carries an id field to those fields.
func rpcsTakingIDs(t *testing.T) (map[string][]string, int) {
	t.Helper()
	out := map[string][]string{}
	methods := 0
	protoregistry.GlobalFiles.RangeFilesByPackage(salesappv1.File_salesapp_v1_ping_proto.Package(), func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			s := f.Services().Get(i)
			if s.FullName() == salesappv1connect.OperatorServiceName {
				// Not tenant RPCs: operators belong to no tenant and act on any tenant by design, and no
				// tenant's token reaches OperatorService (TestTenantTokenCannotCallOperatorService), so there
				// is no caller tenant whose ids another tenant's could be aimed from.
				continue
			}
			for j := 0; j < s.Methods().Len(); j++ {
				m := s.Methods().Get(j)
				methods++
				if fields := idFields(m.Input(), "", map[protoreflect.FullName]bool{}); len(fields) > 0 {
					out["/"+string(s.FullName())+"/"+string(m.Name())] = fields
				}
			}
		}
		return true
	})
	return out, methods
}

// TestCrossTenantTableCoversEveryRPC is the table's guard: an RPC whose request has a field named id,
// *_id(s) or *_key(s) (at any depth) must have a row in crossTenantRows or an exemption saying why not,
// and neither may name an RPC that takes no id (a renamed or removed one).
func TestCrossTenantTableCoversEveryRPC(t *testing.T) {
	t.Parallel()
	taking, methods := rpcsTakingIDs(t)
	require.Greater(t, methods, 40, "the API's methods were not found in the registry")
	covered := map[string]bool{}
	for _, r := range crossTenantRows() {
		covered[r.procedure] = true
		require.Contains(t, taking, r.procedure, "a row names %s, which takes no id (renamed or removed?)", r.procedure)
	}
	for p, why := range crossTenantExempt {
		require.NotEmpty(t, why)
		require.Contains(t, taking, p, "an exemption names %s, which takes no id (renamed or removed?)", p)
		require.False(t, covered[p], "%s has rows and an exemption", p)
	}
	var missing []string
	for p, fields := range taking {
		if !covered[p] && crossTenantExempt[p] == "" {
			missing = append(missing, fmt.Sprintf("%s (%s)", p, strings.Join(fields, ", ")))
		}
	}
	slices.Sort(missing)
	require.Empty(t, missing, "RPCs taking ids with no row in crossTenantRows and no exemption in crossTenantExempt")
}
