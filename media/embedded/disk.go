package embedded

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// disk is a gofakes3 backend that keeps each bucket in a directory and each object in one file, written
// to a temporary name, synced and renamed into place, so a reader sees the old object or the new one,
// whole, and a crash leaves no half-written object. gofakes3's own persistent backends need modules this project
// does not carry (s3afero: spf13/afero; s3bolt: bbolt), and this one is small.
//
// An object file is the object's bytes followed by a JSON trailer (key, metadata, MD5, size) and then
// the trailer's length and a magic number. Keeping the bytes first lets PutObject stream them to disk
// while hashing, without buffering. File names are the SHA-256 of the key, so any key (up to S3's 1024
// bytes, with slashes and dots) maps to one flat, safe file name.
type disk struct {
	root string
}

var _ gofakes3.Backend = (*disk)(nil)

const (
	objectMagic = "SALESOBJ"
	tmpPrefix   = ".tmp-"
	// trailerTail is the trailer length (8 bytes) and the magic (8 bytes) at the very end of a file.
	trailerTail = 16
)

type trailer struct {
	Key      string            `json:"key"`
	Metadata map[string]string `json:"metadata"`
	MD5      string            `json:"md5"`
	Size     int64             `json:"size"`
}

func newDisk(root string) (*disk, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	d := &disk{root: root}
	// Temporary files of a run that crashed mid-upload are garbage.
	buckets, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, b := range buckets {
		if !b.IsDir() {
			continue
		}
		entries, _ := os.ReadDir(filepath.Join(root, b.Name()))
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				_ = os.Remove(filepath.Join(root, b.Name(), e.Name()))
			}
		}
	}
	return d, nil
}

// validBucket keeps bucket names to S3's rules, which also keeps them from naming anything but a
// directory directly under root.
func validBucket(name string) bool {
	if len(name) < 3 || len(name) > 63 || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		edge := i == 0 || i == len(name)-1
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '.') && !edge:
		default:
			return false
		}
	}
	return true
}

func (d *disk) bucketDir(name string) (string, error) {
	if !validBucket(name) {
		return "", gofakes3.BucketNotFound(name)
	}
	dir := filepath.Join(d.root, name)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !st.IsDir()) {
		return "", gofakes3.BucketNotFound(name)
	}
	if err != nil {
		return "", err
	}
	return dir, nil
}

func objectFile(bucketDir, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(bucketDir, hex.EncodeToString(sum[:]))
}

// ListBuckets implements gofakes3.Backend.
func (d *disk) ListBuckets() ([]gofakes3.BucketInfo, error) {
	entries, err := os.ReadDir(d.root)
	if err != nil {
		return nil, err
	}
	var out []gofakes3.BucketInfo
	for _, e := range entries {
		if !e.IsDir() || !validBucket(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, gofakes3.BucketInfo{Name: e.Name(), CreationDate: gofakes3.NewContentTime(info.ModTime())})
	}
	return out, nil
}

// listing is one object as ListBucket reports it.
type listing struct {
	key     string
	size    int64
	md5     []byte
	modTime time.Time
}

func (d *disk) list(dir string) ([]listing, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]listing, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted while listing
		}
		if err != nil {
			return nil, err
		}
		tr, _, err := readTrailer(f)
		st, serr := f.Stat()
		f.Close()
		if err != nil || serr != nil {
			continue // not an object file
		}
		sum, _ := hex.DecodeString(tr.MD5)
		out = append(out, listing{key: tr.Key, size: tr.Size, md5: sum, modTime: st.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

// ListBucket implements gofakes3.Backend, with the marker and page size honoured.
func (d *disk) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	dir, err := d.bucketDir(name)
	if err != nil {
		return nil, err
	}
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	objects, err := d.list(dir)
	if err != nil {
		return nil, err
	}
	resp := gofakes3.NewObjectList()
	var match gofakes3.PrefixMatch
	var count int64
	lastPrefix := ""
	for i, o := range objects {
		if page.HasMarker && o.key <= page.Marker {
			continue
		}
		if !prefix.Match(o.key, &match) {
			continue
		}
		if match.CommonPrefix {
			if match.MatchedPart == lastPrefix {
				continue
			}
			resp.AddPrefix(match.MatchedPart)
			lastPrefix = match.MatchedPart
		} else {
			resp.Add(&gofakes3.Content{
				Key:          o.key,
				LastModified: gofakes3.NewContentTime(o.modTime),
				ETag:         gofakes3.FormatETag(o.md5),
				Size:         o.size,
			})
		}
		count++
		if page.MaxKeys > 0 && count >= page.MaxKeys {
			resp.NextMarker = o.key
			resp.IsTruncated = i < len(objects)-1
			break
		}
	}
	return resp, nil
}

// CreateBucket implements gofakes3.Backend.
func (d *disk) CreateBucket(name string) error {
	if !validBucket(name) {
		return gofakes3.ResourceError(gofakes3.ErrInvalidBucketName, name)
	}
	err := os.Mkdir(filepath.Join(d.root, name), 0o755)
	if errors.Is(err, fs.ErrExist) {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	return err
}

// BucketExists implements gofakes3.Backend.
func (d *disk) BucketExists(name string) (bool, error) {
	_, err := d.bucketDir(name)
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
		return false, nil
	}
	return err == nil, err
}

// DeleteBucket implements gofakes3.Backend.
func (d *disk) DeleteBucket(name string) error {
	dir, err := d.bucketDir(name)
	if err != nil {
		return err
	}
	objects, err := d.list(dir)
	if err != nil {
		return err
	}
	if len(objects) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	return os.RemoveAll(dir)
}

// ForceDeleteBucket implements gofakes3.Backend.
func (d *disk) ForceDeleteBucket(name string) error {
	dir, err := d.bucketDir(name)
	if err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// readTrailer reads an object file's trailer and returns it with the offset where it starts (which is
// also the object's size).
func readTrailer(f *os.File) (trailer, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return trailer{}, 0, err
	}
	end := st.Size()
	if end < trailerTail {
		return trailer{}, 0, errors.New("embedded: not an object file")
	}
	tail := make([]byte, trailerTail)
	if _, err := f.ReadAt(tail, end-trailerTail); err != nil {
		return trailer{}, 0, err
	}
	if string(tail[8:]) != objectMagic {
		return trailer{}, 0, errors.New("embedded: not an object file")
	}
	n := int64(binary.BigEndian.Uint64(tail[:8]))
	start := end - trailerTail - n
	if n <= 0 || start < 0 {
		return trailer{}, 0, errors.New("embedded: damaged object file")
	}
	raw := make([]byte, n)
	if _, err := f.ReadAt(raw, start); err != nil {
		return trailer{}, 0, err
	}
	var tr trailer
	if err := json.Unmarshal(raw, &tr); err != nil {
		return trailer{}, 0, fmt.Errorf("embedded: damaged object file: %w", err)
	}
	if tr.Size != start {
		return trailer{}, 0, errors.New("embedded: damaged object file")
	}
	return tr, start, nil
}

// open opens an object and reads its trailer; the caller closes the file.
func (d *disk) open(bucket, key string) (*os.File, trailer, error) {
	dir, err := d.bucketDir(bucket)
	if err != nil {
		return nil, trailer{}, err
	}
	f, err := os.Open(objectFile(dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, trailer{}, gofakes3.KeyNotFound(key)
	}
	if err != nil {
		return nil, trailer{}, err
	}
	tr, _, err := readTrailer(f)
	if err != nil {
		f.Close()
		return nil, trailer{}, err
	}
	if tr.Key != key { // a SHA-256 collision would be news; refuse rather than serve another object
		f.Close()
		return nil, trailer{}, gofakes3.KeyNotFound(key)
	}
	return f, tr, nil
}

// section is an io.ReadCloser over part of an open file.
type section struct {
	*io.SectionReader
	f *os.File
}

func (s section) Close() error { return s.f.Close() }

// GetObject implements gofakes3.Backend.
func (d *disk) GetObject(bucket, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	f, tr, err := d.open(bucket, key)
	if err != nil {
		return nil, err
	}
	rnge, err := rangeRequest.Range(tr.Size)
	if err != nil {
		f.Close()
		return nil, err
	}
	start, length := int64(0), tr.Size
	if rnge != nil {
		start, length = rnge.Start, rnge.Length
	}
	sum, _ := hex.DecodeString(tr.MD5)
	return &gofakes3.Object{
		Name:     key,
		Metadata: tr.Metadata,
		Size:     tr.Size,
		Contents: section{io.NewSectionReader(f, start, length), f},
		Hash:     sum,
		Range:    rnge,
	}, nil
}

// HeadObject implements gofakes3.Backend.
func (d *disk) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	f, tr, err := d.open(bucket, key)
	if err != nil {
		return nil, err
	}
	f.Close()
	sum, _ := hex.DecodeString(tr.MD5)
	return &gofakes3.Object{
		Name:     key,
		Metadata: tr.Metadata,
		Size:     tr.Size,
		Contents: io.NopCloser(bytes.NewReader(nil)),
		Hash:     sum,
	}, nil
}

// DeleteObject implements gofakes3.Backend; a missing object is no error.
func (d *disk) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	dir, err := d.bucketDir(bucket)
	if err != nil {
		return gofakes3.ObjectDeleteResult{}, err
	}
	err = os.Remove(objectFile(dir, key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return gofakes3.ObjectDeleteResult{}, err
	}
	return gofakes3.ObjectDeleteResult{}, nil
}

// DeleteMulti implements gofakes3.Backend.
func (d *disk) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	var res gofakes3.MultiDeleteResult
	for _, k := range keys {
		if _, err := d.DeleteObject(bucket, k); err != nil {
			res.Error = append(res.Error, gofakes3.ErrorResult{Key: k, Code: gofakes3.ErrInternal, Message: err.Error()})
			continue
		}
		res.Deleted = append(res.Deleted, gofakes3.ObjectID{Key: k})
	}
	return res, nil
}

// PutObject implements gofakes3.Backend: the bytes stream to a temporary file while being hashed, and
// the file is renamed over the object only once complete.
func (d *disk) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	dir, err := d.bucketDir(bucket)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	if conditions != nil {
		cur := gofakes3.ConditionalObjectInfo{}
		if f, tr, err := d.open(bucket, key); err == nil {
			f.Close()
			cur.Exists = true
			cur.Hash, _ = hex.DecodeString(tr.MD5)
		}
		if err := gofakes3.CheckPutConditions(conditions, &cur); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	tmp, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	defer tmp.Close()

	h := md5.New()
	// Reading to EOF matters: gofakes3 checks Content-MD5 and chunk signatures when its reader hits EOF.
	n, err := io.Copy(io.MultiWriter(tmp, h), input)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	if size >= 0 && n != size {
		return gofakes3.PutObjectResult{}, gofakes3.ErrIncompleteBody
	}
	raw, err := json.Marshal(trailer{Key: key, Metadata: meta, MD5: hex.EncodeToString(h.Sum(nil)), Size: n})
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	tail := make([]byte, trailerTail)
	binary.BigEndian.PutUint64(tail, uint64(len(raw)))
	copy(tail[8:], objectMagic)
	if _, err := tmp.Write(append(raw, tail...)); err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	// Synced before the rename, so that after a power loss the name holds the old object or the new one.
	if err := tmp.Sync(); err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	if err := tmp.Close(); err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	if err := os.Rename(tmp.Name(), objectFile(dir, key)); err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	return gofakes3.PutObjectResult{}, nil
}

// CopyObject implements gofakes3.Backend.
func (d *disk) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObject(d, srcBucket, srcKey, dstBucket, dstKey, meta)
}
