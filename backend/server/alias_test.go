package server_test

import (
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/api/salesapp/v1/salesappv1connect"
	"github.com/salesapp/scrm/backend/server/servertest"
)

type platformTx = pgx.Tx

func salesappv1connectMe(e *servertest.Env, token string) salesappv1connect.MeServiceClient {
	return salesappv1connect.NewMeServiceClient(e.HTTP, e.URL, servertest.As(token))
}
