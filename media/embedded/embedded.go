// Package embedded runs an S3-compatible object store on local disk inside salesd, for `make run` on a
// machine without MinIO (when no SALESD_S3_ENDPOINT is configured). salesd reaches it through minio-go
// exactly as it reaches MinIO, and presigned URLs point at it, so phones and browsers upload and download
// the same way as in production.
//
// It is github.com/johannesboyne/gofakes3 over a directory, and it is a development tool, not a
// security boundary. gofakes3 does not check signatures at all: any credentials are accepted, presigned
// URLs work after they expire and with any headers, and POST policies are not enforced (not the key, the
// content type nor the content-length-range). Whoever reaches its address can read and write every
// object, so listen on 127.0.0.1 unless a phone on a trusted LAN needs it. What still protects the data
// in this mode are media.Store's own checks: tenant-scoped keys, and Finalize verifying size, type and
// bytes of every upload, which is why Finalize never trusts the storage to have enforced the ticket.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/salesapp/scrm/media"
)

// Credentials the embedded store hands out: it checks none, but minio-go needs some to presign.
const (
	AccessKey = "salesd-embedded"
	SecretKey = "salesd-embedded-unchecked"
)

// Server is a running embedded store.
type Server struct {
	http   *http.Server
	addr   string
	served chan error

	closeOnce sync.Once
	closeErr  error
}

// Start serves the objects under dir (created when missing) on addr ("127.0.0.1:9000"; port 0 picks a
// free one). ctx bounds the start only; Close stops the server.
func Start(ctx context.Context, dir string, addr string) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	backend, err := newDisk(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	faker := gofakes3.New(backend, gofakes3.WithoutVersioning())
	s := &Server{
		http: &http.Server{
			Handler: decodeStreamingBodies(faker.Server()),
			// No read or write timeout: a 500 MiB video over a phone link takes minutes.
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
		addr:   l.Addr().String(),
		served: make(chan error, 1),
	}
	go func() { s.served <- s.http.Serve(l) }()
	return s, nil
}

// Addr is the address the server listens on, with the port it got.
func (s *Server) Addr() string { return s.addr }

// Config is a media.Config for bucket on this server. When the server listens on all interfaces, the
// endpoint is the loopback address; set PublicEndpoint to the LAN address for phones.
func (s *Server) Config(bucket string) media.Config {
	endpoint := s.addr
	if host, port, err := net.SplitHostPort(s.addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			endpoint = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return media.Config{
		Endpoint:  endpoint,
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		Bucket:    bucket,
		Region:    "us-east-1",
	}
}

// Close stops the server, letting requests in flight finish for a few seconds first. Calling it again
// returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.http.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = s.http.Close()
		}
		if serr := <-s.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		s.closeErr = err
	})
	return s.closeErr
}
