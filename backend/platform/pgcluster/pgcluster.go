// Package pgcluster starts and stops a local PostgreSQL cluster from the machine's own binaries, for
// `make run` (a cluster kept under .data/) and `make test` (a throwaway cluster per run). When the process
// runs as root, the server runs as the postgres user, because PostgreSQL refuses to run as root.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestEnvURL names the variable through which `salesctl pg run` tells tests where the throwaway
// cluster is (a superuser URL).
const TestEnvURL = "SALESD_TEST_DATABASE_URL"

// Superuser is the bootstrap superuser initdb creates.
const Superuser = "postgres"

// Roles the project's databases use: the owner runs migrations and owns the tables; the app role is
// what salesd connects as (see platform.AppRole).
const (
	OwnerRole = "salesapp_owner"
	AppRole   = "salesapp_app"
)

// Cluster is one local PostgreSQL cluster.
type Cluster struct {
	// Dir is the data directory.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Throwaway trades durability for speed (fsync off): for test clusters only.
	Throwaway bool

	binDir string
	cred   *syscall.Credential
}

// New prepares a cluster handle; nothing runs until Start.
func New(dir string, port int, throwaway bool) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: abs, Port: port, Throwaway: throwaway, binDir: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return c, nil
}

// BinDir finds the PostgreSQL server binaries: $SALESD_PG_BINDIR, else the newest
// /usr/lib/postgresql/*/bin, else `pg_config --bindir`.
func BinDir() (string, error) {
	if d := os.Getenv("SALESD_PG_BINDIR"); d != "" {
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(matches[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(matches[j]))))
		return vi > vj
	})
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries not found: install postgresql (initdb, pg_ctl) or set SALESD_PG_BINDIR")
}

// FreePort asks the kernel for an unused TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Dir = "/"
	}
	return cmd
}

func run(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(cmd.Path), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Initialized reports whether the data directory holds a cluster.
func (c *Cluster) Initialized() bool {
	_, err := os.Stat(filepath.Join(c.Dir, "PG_VERSION"))
	return err == nil
}

// Init creates the cluster when the data directory has none.
func (c *Cluster) Init(ctx context.Context) error {
	if c.Initialized() {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	if c.cred != nil {
		// The server user must own its data directory and be able to reach it.
		if err := os.Chown(c.Dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return err
		}
		for p := filepath.Dir(c.Dir); p != "/" && p != "."; p = filepath.Dir(p) {
			if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
				if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
					return err
				}
			}
		}
	}
	args := []string{"-D", c.Dir, "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"}
	if c.Throwaway {
		args = append(args, "--no-sync")
	}
	return run(c.command(ctx, "initdb", args...))
}

// Running reports whether the cluster's server is up.
func (c *Cluster) Running(ctx context.Context) bool {
	return c.command(ctx, "pg_ctl", "status", "-D", c.Dir).Run() == nil
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(ctx context.Context) error {
	opts := []string{
		"-p " + strconv.Itoa(c.Port),
		"-k " + c.Dir,
		"-c listen_addresses=127.0.0.1",
		"-c max_connections=300",
		"-c shared_buffers=256MB",
	}
	if c.Throwaway {
		opts = append(opts, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	return run(c.command(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.Dir,
		"-l", filepath.Join(c.Dir, "server.log"), "-o", strings.Join(opts, " ")))
}

// Stop stops the server, cancelling sessions in progress.
func (c *Cluster) Stop(ctx context.Context) error {
	return run(c.command(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", c.Dir))
}

// URL is a connection URL for role on database db.
func (c *Cluster) URL(role, db string) string {
	return URL("127.0.0.1", c.Port, role, db)
}

// URL builds a connection URL without a password (the local clusters trust loopback).
func URL(host string, port int, role, db string) string {
	u := url.URL{Scheme: "postgres", User: url.User(role), Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/" + db}
	u.RawQuery = "sslmode=disable"
	return u.String()
}

// ProvisionRoles creates the owner and app roles when missing. superURL connects as a superuser.
func ProvisionRoles(ctx context.Context, superURL string) error {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, role := range []string{OwnerRole, AppRole} {
		// CREATE ROLE has no IF NOT EXISTS; concurrent callers may race, so a duplicate is fine.
		_, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN")
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("create role %s: %w", role, err)
		}
	}
	return nil
}

// ProvisionDatabase creates database name owned by the owner role when missing.
func ProvisionDatabase(ctx context.Context, superURL, name string) error {
	conn, err := pgx.Connect(ctx, superURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" OWNER "+pgx.Identifier{OwnerRole}.Sanitize())
	return err
}

// WaitReady waits until a connection to url succeeds or the deadline passes.
func WaitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
