package embedded

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// decodeStreamingBodies turns "aws-chunked" request bodies (SigV4 streaming payloads, which minio-go
// sends over plain HTTP) back into the plain bytes before gofakes3 sees them. gofakes3 v1.2.0 decodes
// them for a single PUT but not for the parts of a multipart upload, which it would store with the chunk
// framing inside: minio-go uploads in parts whenever the size is unknown or above 16 MiB. Chunk
// signatures are not checked, like every other signature here.
func decodeStreamingBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode := r.Header.Get("X-Amz-Content-Sha256")
		if !strings.HasPrefix(mode, "STREAMING-") {
			next.ServeHTTP(w, r)
			return
		}
		size, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || size < 0 {
			http.Error(w, "missing or bad x-amz-decoded-content-length", http.StatusBadRequest)
			return
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{&chunkReader{r: bufio.NewReader(r.Body)}, r.Body}
		r.ContentLength = size
		r.Header.Set("Content-Length", strconv.FormatInt(size, 10))
		r.Header.Del("X-Amz-Content-Sha256")
		r.Header.Del("X-Amz-Decoded-Content-Length")
		r.Header.Del("X-Amz-Trailer")
		next.ServeHTTP(w, r)
	})
}

// chunkReader reads an aws-chunked body: "<hex size>[;extensions]\r\n<data>\r\n" repeated, ending with
// a zero-size chunk and optional trailer lines up to an empty line.
type chunkReader struct {
	r    *bufio.Reader
	left int64 // bytes left in the current chunk
	done bool
}

var errBadChunk = errors.New("embedded: malformed aws-chunked body")

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		err = c.crlf()
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// next reads the header of the next chunk, or the end of the body.
func (c *chunkReader) next() error {
	line, err := c.line()
	if err != nil {
		return err
	}
	sizeText, _, _ := strings.Cut(line, ";")
	size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
	if err != nil || size < 0 {
		return fmt.Errorf("%w: chunk size %q", errBadChunk, sizeText)
	}
	if size > 0 {
		c.left = size
		return nil
	}
	// The last chunk: skip trailers (checksums) up to the empty line that ends the body.
	for {
		line, err := c.line()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			c.done = true // a body cut right after the last chunk has lost nothing
			return nil
		}
		if err != nil {
			return err
		}
		if line == "" {
			c.done = true
			return nil
		}
	}
}

func (c *chunkReader) line() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

func (c *chunkReader) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		return io.ErrUnexpectedEOF
	}
	if !bytes.Equal(b[:], []byte("\r\n")) {
		return errBadChunk
	}
	return nil
}
