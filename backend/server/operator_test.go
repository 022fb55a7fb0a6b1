package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/operator"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/server/servertest"
)

// newOperator makes an operator account as salesctl does and signs it in through OperatorService.
func newOperator(t *testing.T, e *servertest.Env, email string) (salesappv1connect.OperatorServiceClient, string) {
	t.Helper()
	ctx := context.Background()
	_, err := operator.Create(ctx, e.DB.Owner, e.Sessions, email, "correct horse battery")
	require.NoError(t, err)
	c := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL)
	resp, err := c.OperatorSignIn(ctx, connect.NewRequest(&salesappv1.OperatorSignInRequest{Email: email, Password: "correct horse battery"}))
	require.NoError(t, err)
	require.NotEmpty(t, resp.Msg.OperatorToken)
	return c, resp.Msg.OperatorToken
}

// Operators sign in by email and password; a wrong password and an unknown email get the same answer, and
// an account is made once per email.
func TestOperatorSignIn(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	c, token := newOperator(t, e, "Ops@Example.com")
	as := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(token))

	me, err := as.GetOperator(ctx, connect.NewRequest(&salesappv1.GetOperatorRequest{}))
	require.NoError(t, err)
	require.Equal(t, "ops@example.com", me.Msg.Operator.Email)

	for _, bad := range []*salesappv1.OperatorSignInRequest{
		{Email: "ops@example.com", Password: "wrong horse battery"},
		{Email: "nobody@example.com", Password: "correct horse battery"},
	} {
		_, err := c.OperatorSignIn(ctx, connect.NewRequest(bad))
		requireCode(t, err, connect.CodeUnauthenticated, "wrong email or password")
	}
	_, err = c.OperatorSignIn(ctx, connect.NewRequest(&salesappv1.OperatorSignInRequest{Email: "not-an-email", Password: "x"}))
	requireCode(t, err, connect.CodeInvalidArgument, "email")

	_, err = operator.Create(ctx, e.DB.Owner, e.Sessions, "ops@example.com", "another long password")
	requireCode(t, rpcserver.ToConnect(err), connect.CodeAlreadyExists, "")
	_, err = operator.Create(ctx, e.DB.Owner, e.Sessions, "short@example.com", "short")
	requireCode(t, rpcserver.ToConnect(err), connect.CodeInvalidArgument, "password")

	// A disabled operator's token stops working at once.
	_, err = e.DB.Super.Exec(ctx, "UPDATE operators SET disabled_at = now() WHERE email = 'ops@example.com'")
	require.NoError(t, err)
	_, err = as.GetOperator(ctx, connect.NewRequest(&salesappv1.GetOperatorRequest{}))
	requireCode(t, err, connect.CodeUnauthenticated, "disabled")
}

// A tenant's token (even an admin's) cannot call OperatorService, and no token at all cannot either.
func TestTenantTokenCannotCallOperatorService(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	admin := e.NewTenant(t, "Acme", 0).Admin
	c := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL)
	_, err := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(admin.Token)).
		GetOperator(ctx, connect.NewRequest(&salesappv1.GetOperatorRequest{}))
	requireCode(t, err, connect.CodeUnauthenticated, "operator token")
	_, err = c.GetOperator(ctx, connect.NewRequest(&salesappv1.GetOperatorRequest{}))
	requireCode(t, err, connect.CodeUnauthenticated, "missing bearer token")
}

// An operator token opens no tenant RPC: every unary procedure of every other service answers it exactly
// as it answers a call with no token at all (Unauthenticated, except the public ones), so an operator acts
// on tenants only through OperatorService.
func TestOperatorTokenCannotCallTenantRPCs(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	_, token := newOperator(t, e, "ops@example.com")
	call := func(procedure, bearer string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, e.URL+procedure, bytes.NewReader([]byte("{}")))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := e.HTTP1.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		if resp.StatusCode == http.StatusOK {
			return "ok"
		}
		var answer struct{ Code string }
		require.NoError(t, json.Unmarshal(body, &answer), "%s: %s", procedure, body)
		return answer.Code
	}
	refused := 0
	protoregistry.GlobalFiles.RangeFilesByPackage(salesappv1.File_salesapp_v1_ping_proto.Package(), func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Services().Len(); i++ {
			s := f.Services().Get(i)
			if s.FullName() == salesappv1connect.OperatorServiceName {
				continue
			}
			for j := 0; j < s.Methods().Len(); j++ {
				m := s.Methods().Get(j)
				if m.IsStreamingClient() || m.IsStreamingServer() {
					continue
				}
				procedure := "/" + string(s.FullName()) + "/" + string(m.Name())
				anonymous := call(procedure, "")
				require.Equal(t, anonymous, call(procedure, token), "%s answers an operator token otherwise than no token", procedure)
				if anonymous == "unauthenticated" {
					refused++
				}
			}
		}
		return true
	})
	require.Greater(t, refused, 40, "the tenant RPCs were not found")
}

// Operators create, change, suspend, resume and extend enterprises; a suspended or expired one's staff are
// refused, and a resumed or extended one's are let back in.
func TestOperatorRunsTenants(t *testing.T) {
	t.Parallel()
	// No auth cache: each call reads the tenant's state again.
	e := servertest.Start(t, func(c *platform.Config) { c.AuthCacheTTL = 0 })
	ctx := context.Background()
	_, token := newOperator(t, e, "ops@example.com")
	c := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(token))
	year := time.Now().AddDate(1, 0, 0).Truncate(time.Second)

	created, err := c.CreateTenant(ctx, connect.NewRequest(&salesappv1.CreateTenantRequest{Name: "Zeta", Plan: "trial", SeatLimit: proto.Int32(3),
		ExpiresAt: timestamppb.New(year)}))
	require.NoError(t, err)
	zeta := created.Msg.Tenant
	require.Equal(t, "trial", zeta.Plan)
	require.Equal(t, "Asia/Shanghai", zeta.TimeZone)
	zetaID := uuid.MustParse(zeta.TenantId)
	admin := e.NewPerson(t, zetaID, authn.RoleAdmin, uuid.Nil)
	e.NewPerson(t, zetaID, authn.RoleSales, uuid.Nil)
	acme := e.NewTenant(t, "Acme", 0)

	list, err := c.ListTenants(ctx, connect.NewRequest(&salesappv1.ListTenantsRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Tenants, 2)
	require.Equal(t, "Acme", list.Msg.Tenants[0].Name)
	require.Equal(t, acme.ID.String(), list.Msg.Tenants[0].TenantId)
	require.Equal(t, "Zeta", list.Msg.Tenants[1].Name)
	require.EqualValues(t, 2, list.Msg.Tenants[1].SeatsUsed)

	name, plan, seats, tz := "Zeta Ltd", "professional", int32(20), "Europe/Paris"
	upd, err := c.UpdateTenant(ctx, connect.NewRequest(&salesappv1.UpdateTenantRequest{TenantId: zeta.TenantId, Name: &name, Plan: &plan,
		SeatLimit: &seats, TimeZone: &tz}))
	require.NoError(t, err)
	require.Equal(t, "Zeta Ltd", upd.Msg.Tenant.Name)
	require.Equal(t, "professional", upd.Msg.Tenant.Plan)
	require.EqualValues(t, 20, upd.Msg.Tenant.SeatLimit)
	require.Equal(t, "Europe/Paris", upd.Msg.Tenant.TimeZone)
	one := int32(1)
	_, err = c.UpdateTenant(ctx, connect.NewRequest(&salesappv1.UpdateTenantRequest{TenantId: zeta.TenantId, SeatLimit: &one}))
	requireCode(t, err, connect.CodeFailedPrecondition, "more active employees")
	bad := "Mars/Olympus"
	_, err = c.UpdateTenant(ctx, connect.NewRequest(&salesappv1.UpdateTenantRequest{TenantId: zeta.TenantId, TimeZone: &bad}))
	requireCode(t, err, connect.CodeInvalidArgument, "time_zone")
	_, err = c.UpdateTenant(ctx, connect.NewRequest(&salesappv1.UpdateTenantRequest{TenantId: uuid.NewString(), Name: &name}))
	requireCode(t, err, connect.CodeNotFound, "tenant")

	me := salesappv1connect.NewMeServiceClient(e.HTTP, e.URL, servertest.As(admin.Token))
	getMe := func() error {
		_, err := me.GetMe(ctx, connect.NewRequest(&salesappv1.GetMeRequest{}))
		return err
	}
	require.NoError(t, getMe())

	sus, err := c.SuspendTenant(ctx, connect.NewRequest(&salesappv1.SuspendTenantRequest{TenantId: zeta.TenantId}))
	require.NoError(t, err)
	require.True(t, sus.Msg.Tenant.Suspended)
	require.True(t, year.Equal(sus.Msg.Tenant.ExpiresAt.AsTime()), "the subscription's end is kept")
	requireCode(t, getMe(), connect.CodePermissionDenied, "")
	// Suspending twice changes nothing.
	sus, err = c.SuspendTenant(ctx, connect.NewRequest(&salesappv1.SuspendTenantRequest{TenantId: zeta.TenantId}))
	require.NoError(t, err)
	require.True(t, year.Equal(sus.Msg.Tenant.ExpiresAt.AsTime()))

	// Extending while suspended moves the end the resume gives back.
	later := year.AddDate(1, 0, 0)
	ext, err := c.ExtendTenant(ctx, connect.NewRequest(&salesappv1.ExtendTenantRequest{TenantId: zeta.TenantId, ExpiresAt: timestamppb.New(later)}))
	require.NoError(t, err)
	require.True(t, ext.Msg.Tenant.Suspended)
	require.True(t, later.Equal(ext.Msg.Tenant.ExpiresAt.AsTime()))
	res, err := c.ResumeTenant(ctx, connect.NewRequest(&salesappv1.ResumeTenantRequest{TenantId: zeta.TenantId}))
	require.NoError(t, err)
	require.False(t, res.Msg.Tenant.Suspended)
	require.True(t, later.Equal(res.Msg.Tenant.ExpiresAt.AsTime()))
	require.NoError(t, getMe(), "the resumed enterprise's staff are back")

	// An end in the past refuses the staff as expiry always did; a renewal lets them back.
	_, err = c.ExtendTenant(ctx, connect.NewRequest(&salesappv1.ExtendTenantRequest{TenantId: zeta.TenantId, ExpiresAt: timestamppb.New(time.Now().Add(-time.Hour))}))
	require.NoError(t, err)
	requireCode(t, getMe(), connect.CodePermissionDenied, "expired")
	_, err = c.ExtendTenant(ctx, connect.NewRequest(&salesappv1.ExtendTenantRequest{TenantId: zeta.TenantId, ExpiresAt: timestamppb.New(later)}))
	require.NoError(t, err)
	require.NoError(t, getMe())
	// Acme was never touched.
	other, err := e.Tenants.Subscription(ctx, acme.ID)
	require.NoError(t, err)
	require.False(t, other.Suspended)
	require.Equal(t, "Acme", other.Name)

	// Zeta's admin reads what the operator did in their audit log, newest first: each change once (the
	// refused ones and the second suspension changed nothing), by the operator.
	log, err := auditOf(e, admin.Token).ListAuditEntries(ctx, connect.NewRequest(&salesappv1.ListAuditEntriesRequest{}))
	require.NoError(t, err)
	var actions []string
	for _, x := range log.Msg.Entries {
		if strings.HasPrefix(x.Action, "tenant.") {
			actions = append(actions, x.Action)
			require.Equal(t, "operator", x.ActorRole)
			require.NotEmpty(t, x.ActorId)
			require.Equal(t, zeta.TenantId, x.TargetId)
		}
	}
	require.Equal(t, []string{"tenant.extend", "tenant.extend", "tenant.resume", "tenant.extend", "tenant.suspend", "tenant.update"}, actions)
	for _, x := range log.Msg.Entries {
		if x.Action == "tenant.update" {
			require.Contains(t, x.BeforeJson, `"Name": "Zeta"`)
			require.Contains(t, x.AfterJson, `"Name": "Zeta Ltd"`)
		}
	}
}

// Operators add platform materials with a file: uploaded by presigned request, checked as a tenant's upload
// is, then named by the key FinalizePlatformUpload answers. Salespeople of every enterprise see the poster
// and the brochure with their files, and the poster renders with the salesperson's QR code. A file of
// another type, a tenant's key, a bad layout are refused.
func TestOperatorAddsPlatformMaterialsWithFiles(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	_, token := newOperator(t, e, "files@example.com")
	ops := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(token))
	a := e.NewTenant(t, "A", 0)
	seller := clientsOf(e, e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil).Token)
	platformUpload := func(kind salesappv1.MediaKind, contentType string, body []byte) string {
		t.Helper()
		tk, err := ops.CreatePlatformUpload(ctx, connect.NewRequest(&salesappv1.CreatePlatformUploadRequest{Kind: kind,
			ContentType: contentType, SizeBytes: int32(len(body))}))
		require.NoError(t, err)
		put(t, tk.Msg.Ticket, body)
		f, err := ops.FinalizePlatformUpload(ctx, connect.NewRequest(&salesappv1.FinalizePlatformUploadRequest{
			ObjectKey: tk.Msg.Ticket.ObjectKey, Kind: kind, ContentType: contentType, SizeBytes: int32(len(body))}))
		require.NoError(t, err)
		return f.Msg.ObjectKey
	}
	img := pngOf(t, 1080, 1920)
	imgKey := platformUpload(salesappv1.MediaKind_MEDIA_KIND_IMAGE, "image/png", img)
	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 100)...)
	pdfKey := platformUpload(salesappv1.MediaKind_MEDIA_KIND_PDF, "application/pdf", pdf)
	tenantKey := upload(t, clientsOf(e, a.Admin.Token), salesappv1.MediaKind_MEDIA_KIND_PDF, "application/pdf", pdf)
	layout := &salesappv1.PosterLayout{QrX: 700, QrY: 1500, QrSize: 320, NameX: 60, NameY: 1600, NameFontSize: 48,
		NameColor: "#202020", NameAlign: "left", NameMaxWidth: 600}
	add := func(r *salesappv1.AddPlatformMaterialRequest) (string, error) {
		res, err := ops.AddPlatformMaterial(ctx, connect.NewRequest(r))
		if err != nil {
			return "", err
		}
		return res.Msg.MaterialId, nil
	}

	_, err := add(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_BROCHURE, Title: "Brochure", FileKey: imgKey})
	requireCode(t, err, connect.CodeInvalidArgument, "file_key")
	_, err = add(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_BROCHURE, Title: "Brochure", FileKey: tenantKey})
	requireCode(t, err, connect.CodeInvalidArgument, "file_key")
	_, err = add(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE, Title: "Article",
		BodyHtml: "<p>x</p>", FileKey: pdfKey})
	requireCode(t, err, connect.CodeInvalidArgument, "file_key")
	_, err = add(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_POSTER, Title: "Poster", FileKey: imgKey,
		PosterLayout: &salesappv1.PosterLayout{QrX: 900, QrY: 1800, QrSize: 320, NameX: 60, NameY: 1600, NameFontSize: 48,
			NameColor: "#202020", NameAlign: "left", NameMaxWidth: 600}})
	requireCode(t, err, connect.CodeInvalidArgument, "poster_layout")

	posterID, err := add(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_POSTER, Title: "Spring poster",
		FileKey: imgKey, PosterLayout: layout})
	require.NoError(t, err)
	brochureID, err := add(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_BROCHURE, Title: "Price list",
		FileKey: pdfKey})
	require.NoError(t, err)

	list, err := seller.materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_PLATFORM}))
	require.NoError(t, err)
	files := map[string]string{}
	for _, m := range list.Msg.Materials {
		files[m.Id] = m.FileUrl
	}
	require.Contains(t, files, posterID)
	require.Contains(t, files, brochureID)
	require.Equal(t, pdf, download(t, files[brochureID]))
	require.Equal(t, img, download(t, files[posterID]))
	pp, err := seller.materials.GetPersonalizedPoster(ctx, connect.NewRequest(&salesappv1.GetPersonalizedPosterRequest{MaterialId: posterID}))
	require.NoError(t, err)
	require.Equal(t, pp.Msg.ShareUrl, decodeQR(t, download(t, pp.Msg.ImageUrl), image.Rect(700, 1500, 1020, 1820)))

	// Deleted, a platform material takes its file with it in the background, unless another platform
	// material still names it (here a second poster of the same image).
	againID, err := add(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_POSTER, Title: "Spring poster, again",
		FileKey: imgKey, PosterLayout: layout})
	require.NoError(t, err)
	for _, id := range []string{posterID, brochureID} { // the brochure last: its file gone, the poster's deletion has had its turn
		_, err = ops.DeletePlatformMaterial(ctx, connect.NewRequest(&salesappv1.DeletePlatformMaterialRequest{MaterialId: id}))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { _, err := e.Store.Stat(ctx, pdfKey); return err != nil }, 20*time.Second, 50*time.Millisecond,
		"the brochure's file goes")
	_, err = e.Store.Stat(ctx, imgKey)
	require.NoError(t, err, "the image stays while the second poster names it")
	_, err = ops.DeletePlatformMaterial(ctx, connect.NewRequest(&salesappv1.DeletePlatformMaterialRequest{MaterialId: againID}))
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := e.Store.Stat(ctx, imgKey); return err != nil }, 20*time.Second, 50*time.Millisecond,
		"then it goes too")
}

// Operators run the platform materials: what they add every enterprise's salespeople see and share at
// once; an edit shows; withdrawn, nobody sees or shares it until it is published again; deleted, it is
// gone.
func TestOperatorRunsPlatformMaterials(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	_, token := newOperator(t, e, "content@example.com")
	ops := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(token))
	a := e.NewTenant(t, "A", 0)
	seller := clientsOf(e, e.NewPerson(t, a.ID, authn.RoleSales, uuid.Nil).Token)
	seen := func() map[string]string {
		t.Helper()
		list, err := seller.materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_PLATFORM}))
		require.NoError(t, err)
		out := map[string]string{}
		for _, m := range list.Msg.Materials {
			out[m.Id] = m.Title
		}
		return out
	}
	share := func(id string) error {
		_, err := seller.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
		return err
	}

	_, err := ops.AddPlatformMaterial(ctx, connect.NewRequest(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_POSTER, Title: "Poster"}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "a poster needs its file")
	_, err = ops.AddPlatformMaterial(ctx, connect.NewRequest(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE, Title: "Empty"}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "an article needs a body")
	added, err := ops.AddPlatformMaterial(ctx, connect.NewRequest(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_ARTICLE,
		Title: "How insurance pays out", Summary: "A guide", BodyHtml: `<p>Read me</p><script>alert(1)</script>`, Tags: []string{"insurance"}}))
	require.NoError(t, err)
	id := added.Msg.MaterialId
	require.Equal(t, "How insurance pays out", seen()[id])
	got, err := seller.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: id}))
	require.NoError(t, err)
	require.Contains(t, got.Msg.Material.BodyHtml, "Read me")
	require.NotContains(t, got.Msg.Material.BodyHtml, "script", "sanitized on write")
	require.NoError(t, share(id))

	title := "How insurance pays out, 2027"
	_, err = ops.EditPlatformMaterial(ctx, connect.NewRequest(&salesappv1.EditPlatformMaterialRequest{MaterialId: id, Title: &title,
		Tags: &salesappv1.TagList{Values: []string{"insurance", "claims"}}}))
	require.NoError(t, err)
	require.Equal(t, title, seen()[id])

	_, err = ops.PublishPlatformMaterial(ctx, connect.NewRequest(&salesappv1.PublishPlatformMaterialRequest{MaterialId: id, Published: false}))
	require.NoError(t, err)
	require.NotContains(t, seen(), id, "withdrawn")
	require.Error(t, share(id))
	list, err := ops.ListPlatformMaterials(ctx, connect.NewRequest(&salesappv1.ListPlatformMaterialsRequest{}))
	require.NoError(t, err)
	require.Len(t, list.Msg.Materials, 1)
	require.False(t, list.Msg.Materials[0].Published)
	require.Equal(t, []string{"insurance", "claims"}, list.Msg.Materials[0].Tags)

	_, err = ops.PublishPlatformMaterial(ctx, connect.NewRequest(&salesappv1.PublishPlatformMaterialRequest{MaterialId: id, Published: true}))
	require.NoError(t, err)
	require.Equal(t, title, seen()[id])

	_, err = ops.DeletePlatformMaterial(ctx, connect.NewRequest(&salesappv1.DeletePlatformMaterialRequest{MaterialId: id}))
	require.NoError(t, err)
	require.NotContains(t, seen(), id)
	_, err = ops.DeletePlatformMaterial(ctx, connect.NewRequest(&salesappv1.DeletePlatformMaterialRequest{MaterialId: id}))
	require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
	_, err = ops.EditPlatformMaterial(ctx, connect.NewRequest(&salesappv1.EditPlatformMaterialRequest{MaterialId: uuid.NewString(), Title: &title}))
	require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
	list, err = ops.ListPlatformMaterials(ctx, connect.NewRequest(&salesappv1.ListPlatformMaterialsRequest{}))
	require.NoError(t, err)
	require.Empty(t, list.Msg.Materials)

	// A tenant's material is no platform material: an operator cannot touch it.
	admin := clientsOf(e, a.Admin.Token)
	own := createArticle(t, admin, salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE, "Ours")
	_, err = ops.DeletePlatformMaterial(ctx, connect.NewRequest(&salesappv1.DeletePlatformMaterialRequest{MaterialId: own.Id}))
	require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
}

// A platform material published to chosen plans reaches the enterprises on them, in listings, on their
// devices and in shares, and no other; moving it between plans, or an enterprise between plans, moves it
// on their devices too.
func TestPlatformMaterialsForChosenPlans(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	ctx := context.Background()
	_, token := newOperator(t, e, "plans@example.com")
	ops := salesappv1connect.NewOperatorServiceClient(e.HTTP, e.URL, servertest.As(token))
	setPlan := func(tenant uuid.UUID, plan string) {
		t.Helper()
		_, err := ops.UpdateTenant(ctx, connect.NewRequest(&salesappv1.UpdateTenantRequest{TenantId: tenant.String(), Plan: &plan}))
		require.NoError(t, err)
	}
	type device struct {
		tenant uuid.UUID
		c      salesappv1connect.SyncServiceClient
		seller client
		cursor string
	}
	newDevice := func(plan string) *device {
		tn := e.NewTenant(t, plan, 0)
		setPlan(tn.ID, plan)
		tok := e.NewPerson(t, tn.ID, authn.RoleSales, uuid.Nil).Token
		return &device{tenant: tn.ID, c: salesappv1connect.NewSyncServiceClient(e.HTTP, e.URL, servertest.As(tok)), seller: clientsOf(e, tok)}
	}
	// pull answers the material changes since the device's cursor: id → true for an upsert, false for a
	// tombstone; reset tells the cursor could not be continued.
	pull := func(d *device) (got map[string]bool, reset bool) {
		t.Helper()
		got = map[string]bool{}
		for {
			res, err := d.c.Pull(ctx, connect.NewRequest(&salesappv1.PullRequest{DeviceId: "phone", SchemaVersion: 1, Cursor: d.cursor}))
			require.NoError(t, err)
			if res.Msg.MustReset {
				d.cursor = ""
				return nil, true
			}
			for _, c := range res.Msg.Changes {
				if c.Kind == salesappv1.EntityKind_ENTITY_KIND_MATERIAL {
					got[c.Id] = !c.Deleted
				}
			}
			d.cursor = res.Msg.NextCursor
			if !res.Msg.HasMore {
				return got, false
			}
		}
	}
	listed := func(d *device) []string {
		t.Helper()
		list, err := d.seller.materials.ListMaterials(ctx, connect.NewRequest(&salesappv1.ListMaterialsRequest{Tier: salesappv1.MaterialTier_MATERIAL_TIER_PLATFORM}))
		require.NoError(t, err)
		var ids []string
		for _, m := range list.Msg.Materials {
			ids = append(ids, m.Id)
		}
		return ids
	}
	std, pro := newDevice("standard"), newDevice("professional")
	pull(std)
	pull(pro)

	_, err := ops.AddPlatformMaterial(ctx, connect.NewRequest(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_MOMENTS,
		Title: "Nope", TextBody: "x", Plans: []string{"gold"}}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
	require.Contains(t, err.Error(), "gold")
	all, err := ops.AddPlatformMaterial(ctx, connect.NewRequest(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_MOMENTS,
		Title: "For everyone", TextBody: "Hello"}))
	require.NoError(t, err)
	added, err := ops.AddPlatformMaterial(ctx, connect.NewRequest(&salesappv1.AddPlatformMaterialRequest{Kind: salesappv1.MaterialKind_MATERIAL_KIND_MOMENTS,
		Title: "For professionals", TextBody: "Our best", Plans: []string{"professional", "professional"}}))
	require.NoError(t, err)
	id, everyone := added.Msg.MaterialId, all.Msg.MaterialId

	require.ElementsMatch(t, []string{everyone}, listed(std))
	require.ElementsMatch(t, []string{everyone, id}, listed(pro))
	_, err = std.seller.materials.GetMaterial(ctx, connect.NewRequest(&salesappv1.GetMaterialRequest{MaterialId: id}))
	require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
	_, err = std.seller.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.Error(t, err, "a material outside the plan cannot be shared")
	_, err = pro.seller.shares.ShareMaterial(ctx, connect.NewRequest(&salesappv1.ShareMaterialRequest{MaterialId: id, Channel: salesappv1.ShareChannel_SHARE_CHANNEL_CHAT}))
	require.NoError(t, err)
	got, _ := pull(std)
	require.Equal(t, map[string]bool{everyone: true}, got)
	got, _ = pull(pro)
	require.Equal(t, map[string]bool{everyone: true, id: true}, got)

	list, err := ops.ListPlatformMaterials(ctx, connect.NewRequest(&salesappv1.ListPlatformMaterialsRequest{}))
	require.NoError(t, err)
	plans := map[string][]string{}
	for _, m := range list.Msg.Materials {
		plans[m.MaterialId] = m.Plans
	}
	require.Equal(t, map[string][]string{everyone: nil, id: {"professional"}}, plans)

	// Moved to the standard plan: professional devices drop it, standard ones get it.
	_, err = ops.PublishPlatformMaterial(ctx, connect.NewRequest(&salesappv1.PublishPlatformMaterialRequest{MaterialId: id, Published: true,
		Plans: []string{"standard", "enterprise"}}))
	require.NoError(t, err)
	got, _ = pull(std)
	require.Equal(t, map[string]bool{id: true}, got)
	got, _ = pull(pro)
	require.Equal(t, map[string]bool{id: false}, got)
	require.ElementsMatch(t, []string{everyone, id}, listed(std))
	require.ElementsMatch(t, []string{everyone}, listed(pro))
	_, err = ops.PublishPlatformMaterial(ctx, connect.NewRequest(&salesappv1.PublishPlatformMaterialRequest{MaterialId: id, Published: false,
		Plans: []string{"standard"}}))
	require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), "withdrawing names no plans")

	// The professional enterprise moves to the standard plan: its devices start over and get the plan's.
	setPlan(pro.tenant, "standard")
	_, reset := pull(pro)
	require.True(t, reset)
	got, _ = pull(pro)
	require.Equal(t, true, got[id])
	require.Equal(t, true, got[everyone])

	// Withdrawn, then published to every plan: the standard devices drop it and get it back.
	_, err = ops.PublishPlatformMaterial(ctx, connect.NewRequest(&salesappv1.PublishPlatformMaterialRequest{MaterialId: id, Published: false}))
	require.NoError(t, err)
	got, _ = pull(std)
	require.Equal(t, map[string]bool{id: false}, got)
	_, err = ops.PublishPlatformMaterial(ctx, connect.NewRequest(&salesappv1.PublishPlatformMaterialRequest{MaterialId: id, Published: true}))
	require.NoError(t, err)
	got, _ = pull(std)
	require.Equal(t, map[string]bool{id: true}, got)
	require.ElementsMatch(t, []string{everyone, id}, listed(newDevice("trial")))
}
