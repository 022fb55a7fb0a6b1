// Command salesctl is the operator's tool: migrate the database, create tenants and employees (with their
// invitations), seed a demo tenant, set a password or print a token in development, and run the local PostgreSQL clusters behind `make run` and
// `make test`. `salesctl help` lists the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	var exit exitCode
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &exit):
		os.Exit(int(exit))
	default:
		fmt.Fprintln(os.Stderr, "salesctl:", err)
		os.Exit(1)
	}
}

// exitCode passes a child command's exit status through (pg run).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

type command struct {
	name, usage string
	run         func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"migrate", "apply our migrations and River's (SALESD_MIGRATE_DATABASE_URL, the table owner)", cmdMigrate},
		{"tenant create", "create an enterprise: --name --plan --seats --expires --tz", cmdTenantCreate},
		{"operator create", "create an operator account (the platform's staff, for OperatorService): --email --password", cmdOperatorCreate},
		{"operator disable", "disable an operator account (its tokens stop at once): --email", cmdOperatorDisable},
		{"operator enable", "enable a disabled operator account again: --email", cmdOperatorEnable},
		{"employee create", "create an employee and print their invitation link: --tenant --name --role [--team --title --phone --email]", cmdEmployeeCreate},
		{"seed-demo", "create the demo tenant (admin, manager, three salespeople) unless it exists", cmdSeedDemo},
		{"set-password", "set an employee's password (development; they sign in with their phone or email): --tenant --employee --password", cmdSetPassword},
		{"token", "print a development token pair: --tenant --employee [--device]", cmdToken},
		{"platform-material add", "publish a platform material for every tenant or chosen plans: --kind --title [--file --body-file --text --tags --layout --plans]", cmdPlatformMaterialAdd},
		{"demo-materials", "publish the demo enterprise's sample materials once salesd's object storage answers: [--wait]", cmdDemoMaterials},
		{"dev up", "for make run: start PostgreSQL under .data/, migrate, seed, write .data/salesd.env", cmdDevUp},
		{"dev down", "stop the PostgreSQL under .data/", cmdDevDown},
		{"pg run", "for make test: start a throwaway PostgreSQL, run -- COMMAND with SALESD_TEST_DATABASE_URL set, stop it", cmdPgRun},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: salesctl COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.usage)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	for _, c := range commands() {
		n := len(strings.Fields(c.name))
		if len(args) >= n && strings.Join(args[:n], " ") == c.name {
			return c.run(ctx, args[n:], getenv, stdout)
		}
	}
	usage(stdout)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return flag.ErrHelp
	}
	return fmt.Errorf("unknown command %q", strings.Join(args, " "))
}
