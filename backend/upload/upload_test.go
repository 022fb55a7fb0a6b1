package upload_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	_ "image/jpeg" // thumbnails
	"image/png"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/pgtest"
	"github.com/salesapp/scrm/backend/upload"
	"github.com/salesapp/scrm/media"
	"github.com/salesapp/scrm/media/miniotest"
)

// queue records the jobs inserted, checking each is inserted in a transaction of the right tenant.
type queue struct {
	mu   sync.Mutex
	jobs []river.JobArgs
}

func (q *queue) InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, _ *river.InsertOpts) error {
	var inTenant string
	if err := tx.QueryRow(ctx, "SELECT current_setting('app.tenant_id', true)").Scan(&inTenant); err != nil {
		return err
	}
	if a, ok := args.(upload.MakeThumbnailArgs); ok && a.TenantID.String() != inTenant {
		return errors.New("job inserted outside its tenant's transaction")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, args)
	return nil
}

func (q *queue) InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) error {
	for _, p := range params {
		if err := q.InsertTx(ctx, tx, p.Args, p.InsertOpts); err != nil {
			return err
		}
	}
	return nil
}

func (q *queue) thumbnails() []upload.MakeThumbnailArgs {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []upload.MakeThumbnailArgs
	for _, j := range q.jobs {
		if a, ok := j.(upload.MakeThumbnailArgs); ok {
			out = append(out, a)
		}
	}
	return out
}

type fixture struct {
	db    *pgtest.DB
	store *media.Store
	jobs  *queue
	svc   *upload.Service
	a     pgtest.Tenant
}

func setup(t *testing.T) fixture { return setupQuota(t, 0) }

func setupQuota(t *testing.T, quota int64) fixture {
	t.Helper()
	db := pgtest.New(t)
	store, err := media.New(context.Background(), miniotest.New(t))
	require.NoError(t, err)
	q := &queue{}
	return fixture{db: db, store: store, jobs: q, svc: upload.NewService(db.App, store, q, upload.Config{Quota: quota}), a: db.NewTenant(t, "A")}
}

func requireInvalid(t *testing.T, field string, err error) {
	t.Helper()
	require.Error(t, err)
	var de *platform.Error
	require.True(t, errors.As(err, &de), "error: %v", err)
	require.Equal(t, platform.KindInvalid, de.Kind, "error: %v", err)
	require.Equal(t, field, de.Field, "error: %v", err)
}

func requireKind(t *testing.T, want platform.Kind, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, platform.KindOf(err), "error: %v", err)
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

var pdf = append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 200)...)

// put uploads body the way a phone does: a ticket, then a PUT to its presigned URL.
func (f fixture) put(t *testing.T, p authn.Principal, kind media.Kind, ct string, body []byte) string {
	t.Helper()
	tk, err := f.svc.Create(context.Background(), p, kind, ct, int64(len(body)))
	require.NoError(t, err)
	putWith(t, tk, body)
	return tk.Key
}

// finalized puts body and finalizes it, returning the key it is referenced by.
func (f fixture) finalized(t *testing.T, p authn.Principal, kind media.Kind, ct string, body []byte) string {
	t.Helper()
	key := f.put(t, p, kind, ct, body)
	fin, err := f.svc.Finalize(context.Background(), p, key, kind, ct, int64(len(body)))
	require.NoError(t, err)
	return fin.Key
}

// putWith PUTs body with ticket tk.
func putWith(t *testing.T, tk media.UploadTicket, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, tk.PutURL, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range tk.PutHeaders {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// require runs upload.Require in a transaction of tenantID.
func (f fixture) require(tenantID uuid.UUID, key string, kinds ...media.Kind) error {
	return f.db.App.InTenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
		return upload.Require(context.Background(), tx, tenantID, "avatar_key", key, kinds...)
	})
}

func TestTicketsAreForTheCallersTenantAndAllowedTypesAndSizes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	tk, err := f.svc.Create(ctx, f.a.Admin, media.KindImage, "Image/PNG", 1234)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tk.Key, "t/"+f.a.ID.String()+"/upload/"), tk.Key)
	require.True(t, strings.HasSuffix(tk.Key, ".png"), tk.Key)
	require.EqualValues(t, 1234, tk.MaxBytes)
	require.Equal(t, "image/png", tk.PutHeaders["Content-Type"])

	_, err = f.svc.Create(ctx, f.a.Admin, media.KindImage, "application/x-msdownload", 10)
	requireInvalid(t, "content_type", err)
	_, err = f.svc.Create(ctx, f.a.Admin, media.KindPDF, "image/png", 10)
	requireInvalid(t, "content_type", err)
	_, err = f.svc.Create(ctx, f.a.Admin, media.KindImage, "image/png", 10<<20+1)
	requireInvalid(t, "size", err)
	_, err = f.svc.Create(ctx, f.a.Admin, media.KindVideo, "video/mp4", 0)
	requireInvalid(t, "size", err)
	_, err = f.svc.Create(ctx, f.a.Admin, media.Kind("audio"), "audio/mpeg", 10)
	requireInvalid(t, "content_type", err)
}

func TestFinalizeRecordsTheObjectOnceAndQueuesAThumbnailForImages(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	body := pngOf(t, 64, 32)
	key := f.put(t, f.a.Admin, media.KindImage, "image/png", body)
	requireInvalid(t, "avatar_key", f.require(f.a.ID, key, media.KindImage)) // uploaded, not yet finalized

	fin, err := f.svc.Finalize(ctx, f.a.Admin, key, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(fin.Key, "t/"+f.a.ID.String()+"/file/"), fin.Key)
	require.Contains(t, fin.URL, fin.Key)
	requireInvalid(t, "avatar_key", f.require(f.a.ID, key, media.KindImage)) // the ticket's key is not the upload's
	ticketKey := key
	key = fin.Key
	require.NoError(t, f.require(f.a.ID, key, media.KindImage))
	require.Equal(t, []upload.MakeThumbnailArgs{{TenantID: f.a.ID, Key: key}}, f.jobs.thumbnails())
	var by uuid.UUID
	var size int64
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT uploaded_by, size_bytes FROM uploads WHERE object_key = $1", key).Scan(&by, &size))
	require.Equal(t, f.a.Admin.EmployeeID, by)
	require.EqualValues(t, len(body), size)

	// Again, by either key, even with a wrong declaration: the recorded object is not checked (nor
	// deleted) again.
	for _, k := range []string{ticketKey, key} {
		again, err := f.svc.Finalize(ctx, f.a.Admin, k, media.KindImage, "image/png", 1)
		require.NoError(t, err)
		require.Equal(t, key, again.Key)
		_, err = f.store.Stat(ctx, key)
		require.NoError(t, err)
	}
	require.Len(t, f.jobs.thumbnails(), 1, "one thumbnail job per upload")

	// Documents get no thumbnail job.
	doc := f.put(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	_, err = f.svc.Finalize(ctx, f.a.Admin, doc, media.KindPDF, "application/pdf", int64(len(pdf)))
	require.NoError(t, err)
	require.Len(t, f.jobs.thumbnails(), 1)
}

func TestARefusedUploadIsDeletedAndNotRecorded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	body := pngOf(t, 16, 16)

	key := f.put(t, f.a.Admin, media.KindImage, "image/png", body)
	_, err := f.svc.Finalize(ctx, f.a.Admin, key, media.KindImage, "image/png", int64(len(body))+1)
	requireInvalid(t, "size", err)
	_, err = f.store.Stat(ctx, key)
	requireKind(t, platform.KindNotFound, err)

	// The bytes must be what the type says.
	fake := bytes.Repeat([]byte("not a png "), 20)
	key = f.put(t, f.a.Admin, media.KindImage, "image/png", fake)
	_, err = f.svc.Finalize(ctx, f.a.Admin, key, media.KindImage, "image/png", int64(len(fake)))
	requireInvalid(t, "content_type", err)
	requireInvalid(t, "avatar_key", f.require(f.a.ID, key, media.KindImage))

	_, err = f.svc.Finalize(ctx, f.a.Admin, media.TenantKey(f.a.ID, media.UploadPurpose, "png"), media.KindImage, "image/png", 10)
	requireKind(t, platform.KindNotFound, err)
	var n int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM uploads").Scan(&n))
	require.Zero(t, n)
	require.Empty(t, f.jobs.thumbnails())

	// Images are refused from their header when they claim more pixels than the cap (here a valid 1×1
	// PNG claiming 6000×5000, 30 MP).
	forged := pngOf(t, 1, 1)
	binary.BigEndian.PutUint32(forged[16:], 6000)
	binary.BigEndian.PutUint32(forged[20:], 5000)
	binary.BigEndian.PutUint32(forged[29:], crc32.ChecksumIEEE(forged[12:29]))
	key = f.put(t, f.a.Admin, media.KindImage, "image/png", forged)
	_, err = f.svc.Finalize(ctx, f.a.Admin, key, media.KindImage, "image/png", int64(len(forged)))
	requireInvalid(t, "object_key", err)
	require.Contains(t, err.Error(), "at most 25 megapixels")
	_, err = f.store.Stat(ctx, key)
	requireKind(t, platform.KindNotFound, err)
}

func TestFinalizedBytesCannotBeReplacedThroughTheTicket(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	checked := pngOf(t, 16, 16)
	tk, err := f.svc.Create(ctx, f.a.Admin, media.KindImage, "image/png", int64(len(checked)))
	require.NoError(t, err)
	putWith(t, tk, checked)
	fin, err := f.svc.Finalize(ctx, f.a.Admin, tk.Key, media.KindImage, "image/png", int64(len(checked)))
	require.NoError(t, err)

	// The ticket is still valid: the same number of other bytes land, but not in what was finalized.
	swapped := bytes.Repeat([]byte{'x'}, len(checked))
	putWith(t, tk, swapped)
	rc, _, err := f.store.Get(ctx, fin.Key)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	require.Equal(t, checked, got)
	again, err := f.svc.Finalize(ctx, f.a.Admin, tk.Key, media.KindImage, "image/png", int64(len(checked)))
	require.NoError(t, err)
	require.Equal(t, fin.Key, again.Key, "finalizing the ticket's key again answers with the checked copy")
}

func TestFinalizedUploadsCountAgainstTheTenantsQuota(t *testing.T) {
	t.Parallel()
	f := setupQuota(t, 2*int64(len(pdf))+10)
	ctx := context.Background()
	first := f.finalized(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	f.finalized(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	over := f.put(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	_, err := f.svc.Finalize(ctx, f.a.Admin, over, media.KindPDF, "application/pdf", int64(len(pdf)))
	requireKind(t, platform.KindResourceExhausted, err)
	require.Contains(t, err.Error(), "storage quota of 0 MiB")

	// Another tenant has a quota of its own.
	b := f.db.NewTenant(t, "B")
	f.finalized(t, b.Admin, media.KindPDF, "application/pdf", pdf)

	// Deleting an upload (as deleting its material does) gives its bytes back.
	_, err = f.db.Super.Exec(ctx, "DELETE FROM uploads WHERE object_key = $1", first)
	require.NoError(t, err)
	fin, err := f.svc.Finalize(ctx, f.a.Admin, over, media.KindPDF, "application/pdf", int64(len(pdf)))
	require.NoError(t, err)
	require.NotEmpty(t, fin.Key)
}

func TestOnlyTheTenantsOwnUploadKeysAreFinalized(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	b := f.db.NewTenant(t, "B")
	body := pngOf(t, 16, 16)
	key := f.put(t, f.a.Admin, media.KindImage, "image/png", body)

	for _, bad := range []string{
		key, // another tenant's
		"platform/upload/" + uuid.Must(uuid.NewV7()).String() + ".png",
		"t/" + b.ID.String() + "/qr/" + uuid.Must(uuid.NewV7()).String() + ".png", // not an upload
		"../" + key,
	} {
		_, err := f.svc.Finalize(ctx, b.Admin, bad, media.KindImage, "image/png", int64(len(body)))
		requireKind(t, platform.KindPermissionDenied, err)
	}
	_, err := f.store.Stat(ctx, key)
	require.NoError(t, err, "another tenant's refused finalize does not delete the object")
	fin, err := f.svc.Finalize(ctx, f.a.Admin, key, media.KindImage, "image/png", int64(len(body)))
	require.NoError(t, err)
	key = fin.Key
	_, err = f.svc.Finalize(ctx, b.Admin, key, media.KindImage, "image/png", int64(len(body)))
	requireKind(t, platform.KindPermissionDenied, err)
	requireInvalid(t, "avatar_key", f.require(b.ID, key, media.KindImage))
	var n int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM uploads WHERE tenant_id = $1", b.ID).Scan(&n))
	require.Zero(t, n)
}

func TestRequireNamesTheFieldAndTheKindThatFits(t *testing.T) {
	t.Parallel()
	f := setup(t)
	key := f.finalized(t, f.a.Admin, media.KindImage, "image/png", pngOf(t, 16, 16))

	require.NoError(t, f.require(f.a.ID, key, media.KindImage))
	require.NoError(t, f.require(f.a.ID, key, media.KindPDF, media.KindImage), "any of the kinds given")
	err := f.require(f.a.ID, key, media.KindVideo)
	requireInvalid(t, "avatar_key", err)
	require.Contains(t, err.Error(), "image")
	requireInvalid(t, "avatar_key", f.require(f.a.ID, "t/"+f.a.ID.String()+"/upload/nothing.png", media.KindImage))
}

func TestThumbnailsAreMadeOnceAndDamagedImagesAreNotRetried(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	body := pngOf(t, 960, 240)
	key := f.finalized(t, f.a.Admin, media.KindImage, "image/png", body)

	thumb, ok := upload.ThumbnailKey(key)
	require.True(t, ok)
	require.Equal(t, strings.Replace(strings.Replace(key, "/file/", "/thumb/", 1), ".png", ".jpg", 1), thumb)
	worker := upload.NewThumbnailWorker(f.svc)
	job := &river.Job[upload.MakeThumbnailArgs]{JobRow: &rivertype.JobRow{}, Args: f.jobs.thumbnails()[0]}
	require.NoError(t, worker.Work(ctx, job))
	require.NoError(t, worker.Work(ctx, job), "a retry rewrites the same object")
	rc, info, err := f.store.Get(ctx, thumb)
	require.NoError(t, err)
	img, format, err := image.Decode(rc)
	rc.Close()
	require.NoError(t, err)
	require.Equal(t, "jpeg", format)
	require.Equal(t, "image/jpeg", info.ContentType)
	require.Equal(t, upload.ThumbnailSide, img.Bounds().Dx())
	require.Equal(t, upload.ThumbnailSide/4, img.Bounds().Dy())
	var recorded string
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT thumb_key FROM uploads WHERE object_key = $1", key).Scan(&recorded))
	require.Equal(t, thumb, recorded)

	// An object that cannot be decoded will never become a thumbnail: the job is cancelled, not retried.
	damaged := media.TenantKey(f.a.ID, media.UploadPurpose, "png")
	garbage := []byte("\x89PNG\r\n\x1a\n but not really")
	require.NoError(t, f.store.Put(ctx, damaged, bytes.NewReader(garbage), int64(len(garbage)), "image/png"))
	err = worker.Work(ctx, &river.Job[upload.MakeThumbnailArgs]{JobRow: &rivertype.JobRow{}, Args: upload.MakeThumbnailArgs{TenantID: f.a.ID, Key: damaged}})
	var cancel *river.JobCancelError
	require.ErrorAs(t, err, &cancel)

	// An upload forgotten before its thumbnail job ran (its material deleted): the thumbnail made meanwhile
	// is deleted again rather than left where nothing refers to it; an upload whose object is gone too
	// is simply done.
	late := f.put(t, f.a.Admin, media.KindImage, "image/png", body)
	lateThumb, _ := upload.ThumbnailKey(late)
	require.NoError(t, worker.Work(ctx, &river.Job[upload.MakeThumbnailArgs]{JobRow: &rivertype.JobRow{}, Args: upload.MakeThumbnailArgs{TenantID: f.a.ID, Key: late}}))
	_, err = f.store.Stat(ctx, lateThumb)
	requireKind(t, platform.KindNotFound, err)
	require.NoError(t, f.store.Delete(ctx, late))
	require.NoError(t, worker.Work(ctx, &river.Job[upload.MakeThumbnailArgs]{JobRow: &rivertype.JobRow{}, Args: upload.MakeThumbnailArgs{TenantID: f.a.ID, Key: late}}))

	for _, bad := range []string{"platform/upload/x.png", "t/" + f.a.ID.String() + "/qr/x.png", "t/x/upload"} {
		_, ok := upload.ThumbnailKey(bad)
		require.False(t, ok, bad)
	}
}

func TestTheSweepKeepsUploadsRecordedAtTheirUploadKeys(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	// Finalized before finalize copied uploads: recorded at the key its ticket named.
	legacy := f.put(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	_, err := f.db.Super.Exec(ctx, `INSERT INTO uploads (tenant_id, object_key, kind, content_type, size_bytes, uploaded_by)
		VALUES ($1, $2, 'pdf', 'application/pdf', $3, $4)`, f.a.ID, legacy, len(pdf), f.a.Admin.EmployeeID)
	require.NoError(t, err)
	abandoned := f.put(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	copied := f.finalized(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)

	n, err := f.svc.DeleteStaleUploads(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the upload never finalized goes")
	_, err = f.store.Stat(ctx, abandoned)
	require.Error(t, err)
	for _, k := range []string{legacy, copied} {
		_, err := f.store.Stat(ctx, k)
		require.NoError(t, err, k)
	}
}

// Without a node-wide cap, a tenant's quota is its plan's (migration 027): an operator lowering the plan's
// storage quota refuses the next upload, naming the plan's figure; raising it lets it in.
func TestTheQuotaIsThePlans(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	f.finalized(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	_, err := f.db.Owner.Exec(ctx, "SELECT operator_update_plan('standard', NULL, 0, NULL, NULL)")
	require.NoError(t, err)
	over := f.put(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	_, err = f.svc.Finalize(ctx, f.a.Admin, over, media.KindPDF, "application/pdf", int64(len(pdf)))
	requireKind(t, platform.KindResourceExhausted, err)
	require.Contains(t, err.Error(), "storage quota of 0 MiB")
	_, err = f.db.Owner.Exec(ctx, "SELECT operator_update_plan('standard', NULL, 1, NULL, NULL)")
	require.NoError(t, err)
	_, err = f.svc.Finalize(ctx, f.a.Admin, over, media.KindPDF, "application/pdf", int64(len(pdf)))
	require.NoError(t, err)
}

// deleted lists the object keys whose deletion was queued.
func (q *queue) deleted() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, j := range q.jobs {
		if a, ok := j.(media.DeleteObjectsArgs); ok {
			out = append(out, a.Keys...)
		}
	}
	return out
}

// setAvatar points the employee's card at key (making the card if need be), as the card domain does.
func (f fixture) setAvatar(t *testing.T, p authn.Principal, key string) {
	t.Helper()
	require.NoError(t, f.db.App.InTenantTx(context.Background(), p.TenantID, func(tx pgx.Tx) error {
		if err := upload.Require(context.Background(), tx, p.TenantID, "avatar_key", key, media.KindImage); err != nil {
			return err
		}
		_, err := tx.Exec(context.Background(), `INSERT INTO cards (tenant_id, employee_id, display_name, avatar_key)
			VALUES ($1, $2, 'A', $3) ON CONFLICT (tenant_id, employee_id) DO UPDATE SET avatar_key = excluded.avatar_key`,
			p.TenantID, p.EmployeeID, key)
		return err
	}))
}

// stored is what the tenant's finalized uploads take, as its quota counts them.
func (f fixture) stored(t *testing.T, tenantID uuid.UUID) int64 {
	t.Helper()
	var n int64
	require.NoError(t, f.db.App.InTenantTx(context.Background(), tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT coalesce(sum(size_bytes), 0) FROM uploads").Scan(&n)
	}))
	return n
}

// A finalized upload nothing references stops counting against the quota a day after it was finalized, or
// a day after the last reference to it was dropped, and its object and thumbnail are deleted with it; an
// upload in use stays, and is not checked again until a reference to it is dropped.
func TestUploadsNothingReferencesAreForgottenADayLater(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	img := pngOf(t, 40, 30)
	orphan := f.finalized(t, f.a.Admin, media.KindPDF, "application/pdf", pdf)
	oldAvatar := f.finalized(t, f.a.Admin, media.KindImage, "image/png", img)
	require.NoError(t, f.svc.MakeThumbnail(ctx, f.a.ID, oldAvatar))
	newAvatar := f.finalized(t, f.a.Admin, media.KindImage, "image/png", img)
	f.setAvatar(t, f.a.Admin, oldAvatar)
	f.setAvatar(t, f.a.Admin, newAvatar)
	b := f.db.NewTenant(t, "B")
	other := f.finalized(t, b.Admin, media.KindImage, "image/png", img)
	f.setAvatar(t, b.Admin, other)
	before := f.stored(t, f.a.ID)

	n, err := f.svc.DeleteUnreferenced(ctx, time.Now())
	require.NoError(t, err)
	require.Zero(t, n, "nothing is due within the day's grace")

	n, err = f.svc.DeleteUnreferenced(ctx, time.Now().Add(25*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	thumb, _ := upload.ThumbnailKey(oldAvatar)
	require.ElementsMatch(t, []string{orphan, oldAvatar, thumb}, f.jobs.deleted())
	require.Equal(t, before-int64(len(pdf)+len(img)), f.stored(t, f.a.ID), "the quota no longer counts them")
	requireInvalid(t, "avatar_key", f.require(f.a.ID, oldAvatar, media.KindImage))
	require.NoError(t, f.require(f.a.ID, newAvatar, media.KindImage))
	require.NoError(t, f.require(b.ID, other, media.KindImage))

	var pending int
	require.NoError(t, f.db.Super.QueryRow(ctx, "SELECT count(*) FROM uploads WHERE check_at IS NOT NULL").Scan(&pending))
	require.Zero(t, pending, "what is in use is not checked again")

	// Dropping the last reference schedules the check again.
	require.NoError(t, f.db.App.InTenantTx(ctx, f.a.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE cards SET avatar_key = '' WHERE employee_id = $1", f.a.Admin.EmployeeID)
		return err
	}))
	n, err = f.svc.DeleteUnreferenced(ctx, time.Now().Add(23*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = f.svc.DeleteUnreferenced(ctx, time.Now().Add(25*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Contains(t, f.jobs.deleted(), newAvatar)
}

// The sweep and a write attaching the same upload cannot cross: an upload held by a write on its way is left
// for the next run (which then sees it referenced), and a write that comes while the sweep forgets the upload
// waits for it and is refused as not finalized.
func TestTheSweepAndAnAttachingWriteDoNotCross(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	img := pngOf(t, 8, 8)
	later := time.Now().Add(25 * time.Hour)

	// A write holds the upload: the sweep skips it, and afterwards finds it referenced.
	held := f.finalized(t, f.a.Admin, media.KindImage, "image/png", img)
	tx, err := f.db.App.Pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	_, err = tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", f.a.ID.String())
	require.NoError(t, err)
	require.NoError(t, upload.Require(ctx, tx, f.a.ID, "avatar_key", held, media.KindImage))
	n, err := f.svc.DeleteUnreferenced(ctx, later)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = tx.Exec(ctx, `INSERT INTO cards (tenant_id, employee_id, display_name, avatar_key) VALUES ($1, $2, 'A', $3)`,
		f.a.ID, f.a.Admin.EmployeeID, held)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	n, err = f.svc.DeleteUnreferenced(ctx, later)
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, f.require(f.a.ID, held, media.KindImage))

	// The sweep holds the upload: the write waits, then is refused.
	gone := f.finalized(t, f.a.Admin, media.KindImage, "image/png", img)
	sweep, err := f.db.App.Pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sweep.Rollback(ctx) })
	_, err = sweep.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", f.a.ID.String())
	require.NoError(t, err)
	objects, forgotten, err := upload.ForgetUnreferencedTx(ctx, sweep, f.a.ID, []string{gone})
	require.NoError(t, err)
	require.Equal(t, []string{gone}, objects)
	require.Equal(t, 1, forgotten)
	refused := make(chan error, 1)
	go func() { refused <- f.require(f.a.ID, gone, media.KindImage) }()
	waitForLockWait(t, f)
	require.NoError(t, sweep.Commit(ctx))
	requireInvalid(t, "avatar_key", <-refused)
}

// waitForLockWait returns once a session of the test's database waits for a row lock.
func waitForLockWait(t *testing.T, f fixture) {
	t.Helper()
	for range 1000 {
		var waiting bool
		require.NoError(t, f.db.Super.QueryRow(context.Background(),
			"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')").Scan(&waiting))
		if waiting {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no session came to wait for the lock")
}
