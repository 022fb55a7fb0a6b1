package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/salesapp/scrm/backend/operator"
)

// cmdOperatorCreate makes an operator account: its password is hashed by the application's password
// settings (SALESD_ARGON2_*), and the row written as the table owner (salesd may only read operators).
func cmdOperatorCreate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlags("operator create", stdout)
	email := fs.String("email", "", "the operator's email, their sign-in (required)")
	password := fs.String("password", "", "their password, 12 to 128 characters (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || *password == "" {
		return errors.New("--email and --password are required")
	}
	u, err := migrateURL(getenv)
	if err != nil {
		return err
	}
	db, _, passwords, err := appServices(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	owner, err := pgxpool.New(ctx, u)
	if err != nil {
		return err
	}
	defer owner.Close()
	a, err := operator.Create(ctx, owner, passwords, *email, *password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s created (%s)\n", a.ID, a.Email)
	return nil
}

// cmdOperatorDisable disables an operator account: their tokens stop working at once and they cannot sign
// in until enabled again.
func cmdOperatorDisable(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return setOperatorDisabled(ctx, "operator disable", args, getenv, stdout, true)
}

// cmdOperatorEnable enables a disabled operator account again.
func cmdOperatorEnable(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return setOperatorDisabled(ctx, "operator enable", args, getenv, stdout, false)
}

func setOperatorDisabled(ctx context.Context, name string, args []string, getenv func(string) string, stdout io.Writer, disabled bool) error {
	fs := newFlags(name, stdout)
	email := fs.String("email", "", "the operator's email (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--email is required")
	}
	u, err := migrateURL(getenv)
	if err != nil {
		return err
	}
	owner, err := pgxpool.New(ctx, u)
	if err != nil {
		return err
	}
	defer owner.Close()
	if err := operator.SetDisabled(ctx, owner, *email, disabled); err != nil {
		return err
	}
	state := "enabled"
	if disabled {
		state = "disabled"
	}
	fmt.Fprintf(stdout, "operator %s %s\n", *email, state)
	return nil
}
