// Package media keeps the objects of the material library (posters, brochures, videos) and the objects
// the backend generates (QR codes, personalized posters, thumbnails) in one S3-compatible bucket, through
// minio-go: MinIO or any S3 in production and tests, the embedded store (media/embedded) in `make run`.
//
// Files never pass through salesd. A client asks for an upload ticket (PresignUpload: a presigned PUT
// and a presigned POST policy, both bound to one key, one content type and one size), uploads directly
// to the storage, then asks salesd to Finalize, which checks what actually arrived. Downloads are
// short-lived presigned GETs (PresignGet).
//
// Many tenants share the bucket, so every tenant's keys live under t/<tenant>/ and the tenant-facing
// methods (PresignUpload, Finalize, PresignGet) refuse keys of other tenants. Platform-tier objects (the
// operator's, under platform/) are readable by every tenant. Server-side methods (Put, Get, Stat, Delete)
// do no tenant check: their callers build keys with TenantKey or PlatformKey.
package media

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/salesapp/scrm/backend/platform"
)

// Config says where the bucket is.
type Config struct {
	// Endpoint is host[:port] of the S3 API as salesd reaches it (no scheme; UseSSL decides).
	Endpoint string
	// AccessKey and SecretKey sign every request and every presigned URL.
	AccessKey, SecretKey string
	// Bucket holds every object; New creates it when missing.
	Bucket string
	// UseSSL selects https for Endpoint.
	UseSSL bool
	// Region is the bucket's region; empty means us-east-1 (MinIO's default). Setting it spares minio-go
	// a location lookup before presigning.
	Region string
	// PublicEndpoint is the host[:port] clients use, when it differs from Endpoint (salesd reaches MinIO on
	// an internal address, phones through a public name). It may carry a scheme ("https://files.example.com")
	// to differ from UseSSL. Presigned URLs are signed for this host, so a proxy in front of it must pass the
	// Host header through unchanged.
	PublicEndpoint string
	// ImageMemory is how many bytes image decodes (thumbnails, poster renders) may take at once on this
	// node; 0 means DefaultImageMemory. See DecodeBudget.
	ImageMemory int64
	// ImageWait is how long a decode waits for room in that budget; 0 means DefaultImageWait.
	ImageWait time.Duration
}

// Time limits of presigned requests.
const (
	// UploadTTL is how long an upload ticket is valid: long enough for a 500 MiB video on a slow phone
	// connection to start, short enough that a leaked ticket is soon useless.
	UploadTTL = 15 * time.Minute
	// DefaultGetTTL is the lifetime of a download URL when the caller asks for none.
	DefaultGetTTL = 10 * time.Minute
	// MaxGetTTL caps download URLs: they are bearer tokens that end up in chat messages and logs.
	MaxGetTTL = time.Hour
)

// Store is the bucket.
type Store struct {
	client *minio.Client
	// presigner signs URLs for the host clients use; it never sends a request itself, because its region
	// is configured and presigning needs no round trip then.
	presigner *minio.Client
	bucket    string
	images    *DecodeBudget
}

// UploadTicket tells a client how to upload one object, in either of two ways: PUT the bytes to PutURL
// with PutHeaders, or POST a multipart form to PostURL with PostFields followed by the file in a field
// named "file" (last). Both are bound to Key, to the content type and to exactly MaxBytes bytes.
type UploadTicket struct {
	// Key names the object; the client passes it to Finalize.
	Key string
	// PutURL is a presigned PUT URL.
	PutURL string
	// PutHeaders must be sent with the PUT exactly as given (they are signed). The body must be exactly
	// MaxBytes long: the Content-Length is signed too, and every HTTP client sends it on its own.
	PutHeaders map[string]string
	// PostURL is where the presigned POST form goes.
	PostURL string
	// PostFields are the form fields, to send before the file.
	PostFields map[string]string
	// ExpiresAt is when both requests stop being accepted.
	ExpiresAt time.Time
	// MaxBytes is the declared size: the storage accepts no other size on either way.
	MaxBytes int64
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key         string
	Size        int64
	ContentType string
	// ETag is the storage's entity tag (without quotes); it changes whenever the content does.
	ETag string
}

// New connects to the storage and creates the bucket when it is missing.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.AccessKey == "" || cfg.SecretKey == "" || cfg.Bucket == "" {
		return nil, errors.New("media: endpoint, access key, secret key and bucket are required")
	}
	if strings.Contains(cfg.Endpoint, "://") {
		return nil, fmt.Errorf("media: endpoint %q must be host[:port], without a scheme (UseSSL selects https)", cfg.Endpoint)
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	client, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: cfg.UseSSL, Region: region})
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	presigner := client
	if cfg.PublicEndpoint != "" {
		host, secure, err := publicHost(cfg.PublicEndpoint, cfg.UseSSL)
		if err != nil {
			return nil, err
		}
		presigner, err = minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: region})
		if err != nil {
			return nil, fmt.Errorf("media: public endpoint: %w", err)
		}
	}
	s := &Store{client: client, presigner: presigner, bucket: cfg.Bucket, images: NewDecodeBudget(cfg.ImageMemory, cfg.ImageWait)}
	if err := s.ensureBucket(ctx, region); err != nil {
		return nil, err
	}
	return s, nil
}

// Images is the node's budget for decoding the images kept here: thumbnails and poster renders hold
// their share of it while they decode (one budget per store, and salesd has one store).
func (s *Store) Images() *DecodeBudget { return s.images }

func publicHost(endpoint string, useSSL bool) (host string, secure bool, err error) {
	if !strings.Contains(endpoint, "://") {
		return endpoint, useSSL, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", false, fmt.Errorf("media: public endpoint %q must be host[:port] or http(s)://host[:port]", endpoint)
	}
	return u.Host, u.Scheme == "https", nil
}

func (s *Store) ensureBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("media: check bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	// Several nodes may start at once; losing the race to create our own bucket is success.
	if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		return fmt.Errorf("media: create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// PresignUpload checks a declared upload against kind and returns a ticket for a new key of tenant.
//
// Both ways of uploading accept exactly the declared size, not anything up to the kind's limit: Finalize
// refuses any other size anyway, so a wider range would only let bytes land that are certain to be thrown
// away, and the declared size has already been checked against the limit here.
func (s *Store) PresignUpload(ctx context.Context, tenantID uuid.UUID, kind Kind, contentType string, size int64) (UploadTicket, error) {
	if tenantID == uuid.Nil {
		return UploadTicket{}, errors.New("media: presign upload without a tenant")
	}
	ct, err := CheckUpload(kind, contentType, size)
	if err != nil {
		return UploadTicket{}, err
	}
	return s.presignUpload(ctx, TenantKey(tenantID, UploadPurpose, extension(ct)), ct, size)
}

// PresignPlatformUpload is PresignUpload for a platform-tier object (platform/upload/...), which every
// tenant may read. Only the operator's own tools may call it.
func (s *Store) PresignPlatformUpload(ctx context.Context, kind Kind, contentType string, size int64) (UploadTicket, error) {
	ct, err := CheckUpload(kind, contentType, size)
	if err != nil {
		return UploadTicket{}, err
	}
	return s.presignUpload(ctx, PlatformKey(UploadPurpose, extension(ct)), ct, size)
}

func (s *Store) presignUpload(ctx context.Context, key, ct string, size int64) (UploadTicket, error) {
	// The expiry goes a second short of what the storage enforces, so a client never believes a ticket
	// is still good when it is not.
	expiresAt := time.Now().Add(UploadTTL - time.Second)
	sizeText := strconv.FormatInt(size, 10)
	putURL, err := s.presigner.PresignHeader(ctx, http.MethodPut, s.bucket, key, UploadTTL, nil,
		http.Header{"Content-Type": {ct}, "Content-Length": {sizeText}})
	if err != nil {
		return UploadTicket{}, fmt.Errorf("media: presign put: %w", err)
	}
	policy := minio.NewPostPolicy()
	for _, err := range []error{
		policy.SetBucket(s.bucket),
		policy.SetKey(key),
		policy.SetContentType(ct),
		policy.SetContentLengthRange(size, size),
		policy.SetExpires(time.Now().Add(UploadTTL)),
	} {
		if err != nil {
			return UploadTicket{}, fmt.Errorf("media: post policy: %w", err)
		}
	}
	postURL, fields, err := s.presigner.PresignedPostPolicy(ctx, policy)
	if err != nil {
		return UploadTicket{}, fmt.Errorf("media: presign post: %w", err)
	}
	return UploadTicket{
		Key:        key,
		PutURL:     putURL.String(),
		PutHeaders: map[string]string{"Content-Type": ct},
		PostURL:    postURL.String(),
		PostFields: fields,
		ExpiresAt:  expiresAt,
		MaxBytes:   size,
	}, nil
}

// Finalize checks an object a client of tenant uploaded with a ticket: the key is the tenant's upload
// key, the object exists, its size is the declared size and within the kind's limit, its stored content
// type is the declared one and allowed for the kind, and its first bytes are what that type says. A
// refused object is deleted, so that refused uploads do not linger.
//
// Finalize is not idempotent against a liar: finalizing an accepted object again with a wrong size or
// type deletes it. Callers record accepted keys (and who uploaded them) and do not finalize a recorded
// key again.
func (s *Store) Finalize(ctx context.Context, tenantID uuid.UUID, key string, kind Kind, declaredType string, declaredSize int64) (ObjectInfo, error) {
	sc, ok := parseKey(key)
	if !ok || sc.platform || sc.tenant != tenantID {
		return ObjectInfo{}, platform.PermissionDenied("this object key does not belong to your organization")
	}
	if sc.purpose != UploadPurpose {
		return ObjectInfo{}, platform.PermissionDenied("only uploaded objects can be finalized")
	}
	return s.finalize(ctx, key, sc, kind, declaredType, declaredSize)
}

// FinalizePlatform is Finalize for a platform-tier upload (PresignPlatformUpload).
func (s *Store) FinalizePlatform(ctx context.Context, key string, kind Kind, declaredType string, declaredSize int64) (ObjectInfo, error) {
	sc, ok := parseKey(key)
	if !ok || !sc.platform || sc.purpose != UploadPurpose {
		return ObjectInfo{}, platform.PermissionDenied("not a platform upload key")
	}
	return s.finalize(ctx, key, sc, kind, declaredType, declaredSize)
}

func (s *Store) finalize(ctx context.Context, key string, sc keyScope, kind Kind, declaredType string, declaredSize int64) (ObjectInfo, error) {
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return ObjectInfo{}, platform.NotFound("upload")
		}
		return ObjectInfo{}, fmt.Errorf("media: stat %s: %w", key, err)
	}
	info := ObjectInfo{Key: key, Size: st.Size, ContentType: st.ContentType, ETag: st.ETag}
	refusal, err := s.check(ctx, info, sc, kind, declaredType, declaredSize)
	if err != nil {
		// Not a verdict on the object: it stays, and the client may finalize again.
		return ObjectInfo{}, err
	}
	if refusal != nil {
		// The refused object goes even if the client has gone: it must not linger.
		if err := s.Delete(context.WithoutCancel(ctx), key); err != nil {
			// The client hears the refusal (platform.KindOf finds it in the join); the log gets both.
			return ObjectInfo{}, errors.Join(refusal, fmt.Errorf("media: delete refused upload: %w", err))
		}
		return ObjectInfo{}, refusal
	}
	return s.settle(ctx, info, sc)
}

// settle copies the checked version of an upload (the copy is conditional on its ETag) to a new key of
// FilePurpose and deletes the upload, so that what was checked is what stays: a client still holding the
// ticket can PUT to the upload key again, but nothing refers to that key any more, and the cleanup of
// unfinalized uploads (DeleteStaleUploads) removes what lands there.
func (s *Store) settle(ctx context.Context, info ObjectInfo, sc keyScope) (ObjectInfo, error) {
	ext := strings.TrimPrefix(path.Ext(sc.name), ".")
	final := PlatformKey(FilePurpose, ext)
	if !sc.platform {
		final = TenantKey(sc.tenant, FilePurpose, ext)
	}
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: final},
		minio.CopySrcOptions{Bucket: s.bucket, Object: info.Key, MatchETag: info.ETag})
	if err != nil {
		if minio.ToErrorResponse(err).Code == "PreconditionFailed" {
			return ObjectInfo{}, platform.FailedPrecondition("the upload changed while it was being checked; finalize again")
		}
		return ObjectInfo{}, fmt.Errorf("media: copy %s: %w", info.Key, err)
	}
	// The copy is what counts from here on; an upload left behind by a failed delete is swept as stale.
	_ = s.Delete(context.WithoutCancel(ctx), info.Key)
	info.Key = final
	return info, nil
}

// check returns why an uploaded object is refused (a platform.Invalid), or an error when it could not
// be checked at all.
func (s *Store) check(ctx context.Context, info ObjectInfo, sc keyScope, kind Kind, declaredType string, declaredSize int64) (refusal, err error) {
	ct, refusal := CheckUpload(kind, declaredType, declaredSize)
	if refusal != nil {
		return refusal, nil
	}
	// The declared type and size passed the kind's rules, so an object equal to them passes too.
	if info.Size != declaredSize {
		return platform.Invalid("size", fmt.Sprintf("the uploaded file has %d bytes, not the %d declared", info.Size, declaredSize)), nil
	}
	if normalizeType(info.ContentType) != ct {
		return platform.Invalid("content_type", fmt.Sprintf("the file was uploaded as %q, not %q", info.ContentType, ct)), nil
	}
	if !strings.HasSuffix(sc.name, "."+extension(ct)) {
		return platform.Invalid("content_type", "this upload was issued for another content type"), nil
	}
	// Read the very version that was stat'ed: a client still holding the ticket could replace the bytes
	// between the two calls.
	opts := minio.GetObjectOptions{}
	if err := opts.SetRange(0, sniffLen-1); err != nil {
		return nil, err
	}
	if err := opts.SetMatchETag(info.ETag); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, info.Key, opts)
	if err != nil {
		return nil, fmt.Errorf("media: read %s: %w", info.Key, err)
	}
	defer obj.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(obj, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		if minio.ToErrorResponse(err).Code == "PreconditionFailed" {
			return nil, platform.FailedPrecondition("the upload changed while it was being checked; finalize again")
		}
		return nil, fmt.Errorf("media: read %s: %w", info.Key, err)
	}
	if !bytesMatchType(ct, head[:n]) {
		return platform.Invalid("content_type", fmt.Sprintf("the file's content is not %s", ct)), nil
	}
	if kind == KindImage {
		return s.checkImageHeader(ctx, info)
	}
	return nil, nil
}

// maxImageHeader bounds what is read to find an image's dimensions: JPEG's EXIF and ICC segments come
// before the frame header and can take a few hundred KiB.
const maxImageHeader = 1 * MiB

// checkImageHeader refuses an image whose header cannot be read or claims more than MaxImagePixels,
// reading only the header (image.DecodeConfig) of the version that was checked.
func (s *Store) checkImageHeader(ctx context.Context, info ObjectInfo) (refusal, err error) {
	opts := minio.GetObjectOptions{}
	if err := opts.SetMatchETag(info.ETag); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, info.Key, opts)
	if err != nil {
		return nil, fmt.Errorf("media: read %s: %w", info.Key, err)
	}
	defer obj.Close()
	cfg, _, err := image.DecodeConfig(io.LimitReader(obj, maxImageHeader))
	if err != nil {
		switch code := minio.ToErrorResponse(err).Code; {
		case code == "PreconditionFailed":
			return nil, platform.FailedPrecondition("the upload changed while it was being checked; finalize again")
		case code != "":
			return nil, fmt.Errorf("media: read %s: %w", info.Key, err)
		}
		return platform.Invalid("object_key", "the image's header cannot be read"), nil
	}
	if refusal := CheckImageSize("object_key", cfg); refusal != nil {
		return refusal, nil
	}
	return nil, nil
}

// PresignGet returns a URL from which anyone holding it may download key for ttl: 0 means DefaultGetTTL,
// and more than MaxGetTTL is cut to it. Tenant may get URLs for its own keys and for platform-tier keys,
// nothing else.
func (s *Store) PresignGet(ctx context.Context, tenantID uuid.UUID, key string, ttl time.Duration) (string, error) {
	return s.PresignDownload(ctx, tenantID, key, ttl, "")
}

// readableBy: key is an object tenantID may read, its own or the platform's (PermissionDenied otherwise).
func readableBy(tenantID uuid.UUID, key string) error {
	sc, ok := parseKey(key)
	if !ok || tenantID == uuid.Nil || (!sc.platform && sc.tenant != tenantID) {
		return platform.PermissionDenied("this object does not belong to your organization")
	}
	return nil
}

// PresignDownload is PresignGet with a file name: the response asks browsers to save the object as
// filename (Content-Disposition: attachment) instead of showing it. An empty filename is PresignGet.
func (s *Store) PresignDownload(ctx context.Context, tenantID uuid.UUID, key string, ttl time.Duration, filename string) (string, error) {
	if err := readableBy(tenantID, key); err != nil {
		return "", err
	}
	switch {
	case ttl < 0:
		return "", platform.Invalid("ttl", "a download link cannot expire in the past")
	case ttl == 0:
		ttl = DefaultGetTTL
	case ttl > MaxGetTTL:
		ttl = MaxGetTTL
	}
	var params url.Values
	if filename != "" {
		cd, err := contentDisposition(filename)
		if err != nil {
			return "", err
		}
		params = url.Values{"response-content-disposition": {cd}}
	}
	u, err := s.presigner.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", fmt.Errorf("media: presign get: %w", err)
	}
	return u.String(), nil
}

// contentDisposition builds an attachment header for a user-supplied file name. mime.FormatMediaType
// quotes it and switches to RFC 2231 encoding for non-ASCII names (Chinese file names are the norm here).
func contentDisposition(filename string) (string, error) {
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, filename)
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return "", platform.Invalid("filename", "a download file name must have 1 to 200 bytes")
	}
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if cd == "" {
		return "", platform.Invalid("filename", "this file name cannot be used for a download")
	}
	return cd, nil
}

// Put stores an object the server made (a QR code, a poster, a thumbnail). size may be -1 when unknown,
// at the cost of a multipart upload buffered in memory.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if key == "" || contentType == "" {
		return errors.New("media: put needs a key and a content type")
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("media: put %s: %w", key, err)
	}
	return nil
}

// Get opens an object for reading; the caller closes the reader. A missing object is
// platform.NotFound("object").
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, ObjectInfo{}, fmt.Errorf("media: get %s: %w", key, err)
	}
	// GetObject is lazy; Stat sends the request, so a missing object shows here rather than on Read.
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if isNotFound(err) {
			return nil, ObjectInfo{}, platform.NotFound("object")
		}
		return nil, ObjectInfo{}, fmt.Errorf("media: get %s: %w", key, err)
	}
	return obj, ObjectInfo{Key: key, Size: st.Size, ContentType: st.ContentType, ETag: st.ETag}, nil
}

// ReadOf reads a whole object of tenantID's (or of the platform's) of at most maxBytes, with its content
// type: a small object handed on elsewhere (a cover uploaded to WeCom). Another tenant's key is
// PermissionDenied, a larger object InvalidArgument, a missing one NotFound.
func (s *Store) ReadOf(ctx context.Context, tenantID uuid.UUID, key string, maxBytes int64) ([]byte, string, error) {
	if err := readableBy(tenantID, key); err != nil {
		return nil, "", err
	}
	body, info, err := s.Get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	defer body.Close()
	if info.Size > maxBytes {
		return nil, "", platform.Invalid("object", fmt.Sprintf("larger than %d bytes", maxBytes))
	}
	data, err := io.ReadAll(io.LimitReader(body, maxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("media: read %s: %w", key, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, "", platform.Invalid("object", fmt.Sprintf("larger than %d bytes", maxBytes))
	}
	return data, info.ContentType, nil
}

// Stat describes an object. A missing object is platform.NotFound("object").
func (s *Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return ObjectInfo{}, platform.NotFound("object")
		}
		return ObjectInfo{}, fmt.Errorf("media: stat %s: %w", key, err)
	}
	return ObjectInfo{Key: key, Size: st.Size, ContentType: st.ContentType, ETag: st.ETag}, nil
}

// Delete removes objects; keys that do not exist are fine, so a retried job does no harm.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	var errs []error
	for e := range s.client.RemoveObjects(ctx, s.bucket, ch, minio.RemoveObjectsOptions{}) {
		if e.Err != nil && !isNotFound(e.Err) {
			errs = append(errs, fmt.Errorf("media: delete %s: %w", e.ObjectName, e.Err))
		}
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

// Signer presigns downloads of many keys of one tenant and keeps the first error, so that building a view
// with many optional objects reads straight: call URL for each key, then check Err once.
type Signer struct {
	ctx    context.Context
	store  *Store
	tenant uuid.UUID
	ttl    time.Duration
	// Err is the first error met; URL returns "" from then on.
	Err error
}

// Signer returns a Signer for tenantID's objects (and platform objects) valid for ttl.
func (s *Store) Signer(ctx context.Context, tenantID uuid.UUID, ttl time.Duration) *Signer {
	return &Signer{ctx: ctx, store: s, tenant: tenantID, ttl: ttl}
}

// URL presigns key, or returns "" for an empty key or after an error.
func (g *Signer) URL(key string) string {
	if key == "" || g.Err != nil {
		return ""
	}
	u, err := g.store.PresignGet(g.ctx, g.tenant, key, g.ttl)
	g.Err = err
	return u
}
