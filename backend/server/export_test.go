package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server/servertest"
)

func exportsOf(e *servertest.Env, token string) salesappv1connect.ExportServiceClient {
	return salesappv1connect.NewExportServiceClient(e.HTTP, e.URL, servertest.As(token))
}

// exportRows asks for an export as token's person, waits for the file and returns its rows, header first.
func exportRows(t *testing.T, e *servertest.Env, token string, f salesappv1.ExportFormat) (string, [][]string) {
	t.Helper()
	ctx := context.Background()
	c := exportsOf(e, token)
	res, err := c.CreateCustomerExport(ctx, connect.NewRequest(&salesappv1.CreateCustomerExportRequest{Format: f}))
	require.NoError(t, err)
	require.Equal(t, salesappv1.ExportStatus_EXPORT_STATUS_PENDING, res.Msg.Export.Status)
	id := res.Msg.Export.Id
	var got *salesappv1.Export
	require.Eventually(t, func() bool {
		r, err := c.GetExport(ctx, connect.NewRequest(&salesappv1.GetExportRequest{ExportId: id}))
		require.NoError(t, err)
		got = r.Msg.Export
		return got.Status != salesappv1.ExportStatus_EXPORT_STATUS_PENDING
	}, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, salesappv1.ExportStatus_EXPORT_STATUS_DONE, got.Status, got.Error)
	body := download(t, got.Url)
	if f == salesappv1.ExportFormat_EXPORT_FORMAT_XLSX {
		x, err := excelize.OpenReader(bytes.NewReader(body))
		require.NoError(t, err)
		defer x.Close()
		rows, err := x.GetRows("Customers")
		require.NoError(t, err)
		require.EqualValues(t, len(rows)-1, got.Rows)
		return id, rows
	}
	require.True(t, bytes.HasPrefix(body, []byte("\uFEFF")), "a byte-order mark, for Excel")
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\uFEFF")))).ReadAll()
	require.NoError(t, err)
	require.EqualValues(t, len(rows)-1, got.Rows)
	return id, rows
}

// A salesperson exports their own customers with their phones; a manager their team's, other people's
// phones masked; in CSV and xlsx; the file is the requester's alone, and the request is audited.
func TestCustomerExportsFollowWhoMaySeeWhat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := servertest.Start(t)
	a := e.NewTenant(t, "A", 0)
	team := e.NewTeam(t, a.ID, "East")
	sales := e.NewPerson(t, a.ID, authn.RoleSales, team)
	manager := e.NewPerson(t, a.ID, authn.RoleManager, team)
	admin := clientsOf(e, a.Admin.Token)
	m := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Plan")
	publish(t, admin, m.Id)
	sh, err := clientsOf(e, sales.Token).shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: m.Id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	token := sh.Msg.Share.Token
	track(t, e, &salesappv1.TrackEvent{EventId: uuid.NewString(), Kind: salesappv1.EventKind_EVENT_KIND_PHONE_LEFT, ShareToken: token,
		VisitorId: "visitor-export-1", Phone: "13900001111"})
	list, err := customers(e, sales.Token).ListCustomers(ctx, connect.NewRequest(&salesappv1.ListCustomersRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Customers, 1)
	_, err = customers(e, sales.Token).UpdateCustomer(ctx, connect.NewRequest(&salesappv1.UpdateCustomerRequest{
		CustomerId: list.Msg.Customers[0].Id, DisplayName: ptr("=HYPERLINK(\"x\")")}))
	require.NoError(t, err)

	id, rows := exportRows(t, e, sales.Token, salesappv1.ExportFormat_EXPORT_FORMAT_CSV)
	require.Len(t, rows, 2)
	require.Contains(t, rows[0][0], "Customer")
	require.Equal(t, "'=HYPERLINK(\"x\")", rows[1][0], "a name is never a formula")
	require.True(t, strings.HasSuffix(rows[1][1], "13900001111"), "the owner sees the number: %q", rows[1][1])

	_, mrows := exportRows(t, e, manager.Token, salesappv1.ExportFormat_EXPORT_FORMAT_XLSX)
	require.Len(t, mrows, 2, "the manager sees the team's")
	require.Equal(t, "139****1111", mrows[1][1], "a manager sees it masked")
	_, arows := exportRows(t, e, a.Admin.Token, salesappv1.ExportFormat_EXPORT_FORMAT_XLSX)
	require.Len(t, arows, 2, "the admin sees the tenant's")
	require.Equal(t, "139****1111", arows[1][1])

	// Someone else's export is not there for them.
	_, err = exportsOf(e, a.Admin.Token).GetExport(ctx, connect.NewRequest(&salesappv1.GetExportRequest{ExportId: id}))
	requireCode(t, err, connect.CodeNotFound, "export")
	other := e.NewPerson(t, a.ID, authn.RoleSales, sales.TeamID)
	_, orows := exportRows(t, e, other.Token, salesappv1.ExportFormat_EXPORT_FORMAT_CSV)
	require.Len(t, orows, 1, "another salesperson has no customers to export")

	audits, err := auditOf(e, a.Admin.Token).ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{ActionPrefix: "customer.export"}))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(audits.Msg.Entries), 3)
}
