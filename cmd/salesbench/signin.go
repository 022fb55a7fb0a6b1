package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/server"
	"github.com/salesapp/scrm/backend/tenant"
)

// signInBackground is the sign-in rate run beside the no-op RPC: what must not starve everything else.
const signInBackground = 10

// signInScenario measures password sign-in with salesd's argon2id parameters: sign-ins/s and one sign-in's
// server CPU from signInWorkers closed-loop workers (the per-address limit on public procedures lifted, as
// for a load generator behind one address), then the no-op RPC floor alone and beside signInBackground
// sign-ins/s, open loop.
func signInScenario(ctx context.Context, b *bench) (rows []row, err error) {
	login, password, err := b.seedSignIn(ctx)
	if err != nil {
		return nil, fmt.Errorf("seed a password: %w", err)
	}
	s, err := b.startReady(ctx, "sign-in", "SALESD_PUBLIC_RATE=1000000", "SALESD_PUBLIC_BURST=1000000")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.stop()) }()
	httpClient, protocol := loadClient(b.opts.concurrency, b.opts.http1)
	defer httpClient.CloseIdleConnections()
	base := "http://" + s.addr
	auth := salesappv1connect.NewAuthServiceClient(httpClient, base)
	var n atomic.Int64
	signIn := func(ctx context.Context) error {
		res, err := auth.SignIn(ctx, connect.NewRequest(&salesappv1.SignInRequest{Login: login, Password: password,
			DeviceId: fmt.Sprintf("salesbench-%d", n.Add(1))}))
		if err == nil && res.Msg.GetSignedIn() == nil {
			err = errors.New("sign-in did not sign in")
		}
		return err
	}
	const signInWorkers = 4
	st, err := measure(ctx, b, s, protocol, signInWorkers, signIn)
	if err != nil {
		return nil, err
	}
	rows = st.rows(row{"sign-ins/s", thousands(int64(st.rps())), ""}, "")

	ping := salesappv1connect.NewPingServiceClient(httpClient, base)
	authorization := "Bearer " + b.token
	noop := func(ctx context.Context) error {
		req := connect.NewRequest(&salesappv1.PingRequest{})
		req.Header().Set("Authorization", authorization)
		_, err := ping.Ping(ctx, req)
		return err
	}
	alone, err := measure(ctx, b, s, protocol, b.opts.concurrency, noop)
	if err != nil {
		return nil, err
	}
	bgCtx, stopBG := context.WithCancel(ctx)
	var bgDone, bgFailed atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second / signInBackground)
		defer tick.Stop()
		for {
			select {
			case <-bgCtx.Done():
				return
			case <-tick.C:
			}
			wg.Go(func() {
				rctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
				defer cancel()
				if signIn(rctx) != nil {
					bgFailed.Add(1)
				}
				bgDone.Add(1)
			})
		}
	})
	beside, err := measure(ctx, b, s, protocol, b.opts.concurrency, noop)
	stopBG()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return append(rows,
		row{"no-op RPC alone", thousands(int64(alone.rps())) + " requests/s", ""},
		row{fmt.Sprintf("no-op RPC beside %d sign-ins/s", signInBackground), fmt.Sprintf("%s requests/s (%.0f%% of alone)",
			thousands(int64(beside.rps())), 100*beside.rps()/alone.rps()), "≥ 90%"},
		row{"background sign-ins", fmt.Sprintf("%d, %d failed", bgDone.Load(), bgFailed.Load()), "0 failed"},
	), nil
}

// seedSignIn gives the benchmark tenant an employee with a phone number and a password, through the same
// services the operator's tools use.
func (b *bench) seedSignIn(ctx context.Context) (login, password string, err error) {
	cfg, err := platform.LoadConfig(func(k string) string { return b.env[k] })
	if err != nil {
		return "", "", err
	}
	db, err := platform.OpenDB(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	tenants, sessions, _, err := server.Accounts(cfg, db)
	if err != nil {
		return "", "", err
	}
	login, password = "+8613900000001", "correct horse battery staple"
	e, err := tenants.Bootstrap().CreateEmployee(ctx, b.tenantID, tenant.NewEmployee{Name: "Bench sign-in", Role: authn.RoleSales, Phone: login})
	if err != nil {
		return "", "", err
	}
	return login, password, sessions.SetPassword(ctx, b.tenantID, e.ID, password)
}
