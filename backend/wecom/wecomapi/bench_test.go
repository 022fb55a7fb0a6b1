package wecomapi_test

import (
	"testing"

	"github.com/salesapp/scrm/backend/wecom/wecomapi"
	"github.com/salesapp/scrm/backend/wecom/wecomtest"
)

// BenchmarkDirectory10000 reads a directory of 10,000 members: the department tree, then every member with
// details in one user/list call on the root.
func BenchmarkDirectory10000(b *testing.B) {
	srv := wecomtest.New(b)
	srv.SeedDirectory(50, 10000)
	c, err := wecomapi.New(srv.Config(wecomtest.AppSecret), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.Departments(b.Context(), 0); err != nil {
			b.Fatal(err)
		}
		users, err := c.DepartmentUsers(b.Context(), 1, true)
		if err != nil || len(users) != 10000 {
			b.Fatal(len(users), err)
		}
	}
}

// BenchmarkImport50000 pages through 50,000 customers of 10,000 members, 100 members and 100 customers at a
// time (externalcontact/batch/get_by_user), as the onboarding import does.
func BenchmarkImport50000(b *testing.B) {
	srv := wecomtest.New(b)
	users := srv.SeedDirectory(50, 10000)
	srv.SeedContacts(50000, users)
	c, err := wecomapi.New(srv.Config(wecomtest.ContactSecret), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n := 0
		for i := 0; i < len(users); i += wecomapi.MaxBatchUsers {
			cursor := ""
			for {
				p, err := c.ExternalContactsByUser(b.Context(), wecomapi.BatchRequest{UserIDs: users[i:min(i+wecomapi.MaxBatchUsers, len(users))], Cursor: cursor})
				if err != nil {
					b.Fatal(err)
				}
				n += len(p.Contacts)
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
		}
		if n != 50000 {
			b.Fatal(n)
		}
	}
}
