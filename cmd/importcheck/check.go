package main

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Package is one package of the module and what it imports (non-test files), by import path.
type Package struct {
	ImportPath string
	Imports    []string
}

// Violation is one import the layering forbids.
type Violation struct {
	From, To, Rule string
}

func (v Violation) String() string { return fmt.Sprintf("%s imports %s: %s", v.From, v.To, v.Rule) }

// connectGen is the generated Connect code: only transport adapters and the server use it.
const connectGen = "api/salesapp/v1/salesappv1connect"

// clients are packages that are API clients by design and so may use the generated Connect code.
var clients = map[string]bool{
	"sync/replica": true, // the reference sync client
}

// Check applies the import rules of docs/architecture.md to pkgs, whose paths are relative to the module
// (backend/card, not github.com/salesapp/scrm/backend/card); imports outside the module are ignored.
//
//   - backend/platform imports no other part of backend and nothing of sync, push or media;
//   - sync, push and media import no domain (backend/platform is all of backend they may use);
//   - nothing but transport adapters (…rpc), API clients, backend/server and cmd/ imports an adapter or
//     the generated Connect code;
//   - nothing imports cmd/.
func Check(pkgs []Package) []Violation {
	var out []Violation
	for _, p := range pkgs {
		from := p.ImportPath
		for _, to := range p.Imports {
			if rule := violates(from, to); rule != "" {
				out = append(out, Violation{From: from, To: to, Rule: rule})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].From != out[j].From {
			return out[i].From < out[j].From
		}
		return out[i].To < out[j].To
	})
	return out
}

func violates(from, to string) string {
	switch {
	case under(to, "cmd"):
		return "nothing imports cmd/"
	case under(from, "backend/platform") && (under(to, "backend") && !under(to, "backend/platform") ||
		under(to, "sync") || under(to, "push") || under(to, "media")):
		return "platform imports no domain and no sync, push or media"
	case (under(from, "sync") || under(from, "push") || under(from, "media")) &&
		under(to, "backend") && !under(to, "backend/platform"):
		return "sync, push and media import no domain"
	case mayUseTransport(from):
		return ""
	case to == connectGen:
		return "only transport adapters (…rpc) and the server use the generated Connect code"
	case isAdapter(to):
		return "only the server imports a transport adapter (…rpc)"
	}
	return ""
}

func mayUseTransport(p string) bool {
	return isAdapter(p) || clients[p] || under(p, "backend/server") || under(p, "cmd")
}

// isAdapter says whether p is a transport adapter: a package named …rpc (platform/rpcserver is not one).
func isAdapter(p string) bool {
	return strings.HasSuffix(path.Base(p), "rpc") && !under(p, "backend/platform")
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
