package contracts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
)

// fixtures maps each fixture file to the message it holds. Every file in fixtures/ must be listed.
var fixtures = map[string]func() proto.Message{
	"pull_request_first.json":      func() proto.Message { return &salesappv1.PullRequest{} },
	"pull_request.json":            func() proto.Message { return &salesappv1.PullRequest{} },
	"pull_response_page.json":      func() proto.Message { return &salesappv1.PullResponse{} },
	"pull_response_last_page.json": func() proto.Message { return &salesappv1.PullResponse{} },
	"pull_response_reset.json":     func() proto.Message { return &salesappv1.PullResponse{} },
	"push_request.json":            func() proto.Message { return &salesappv1.PushRequest{} },
	"push_response.json":           func() proto.Message { return &salesappv1.PushResponse{} },
	"server_info_request.json":     func() proto.Message { return &salesappv1.GetServerInfoRequest{} },
	"server_info_response.json":    func() proto.Message { return &salesappv1.GetServerInfoResponse{} },
	"list_sessions_response.json":  func() proto.Message { return &salesappv1.ListSessionsResponse{} },
}

func load(t *testing.T, name string) proto.Message {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	msg := fixtures[name]()
	// Unknown fields fail: a field the proto renamed or removed is a break for apps that send it.
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(data, msg); err != nil {
		t.Fatalf("%s does not parse as %s: %v", name, msg.ProtoReflect().Descriptor().FullName(), err)
	}
	return msg
}

// decodeJSON parses JSON into plain values, so that documents compare regardless of spacing and key order.
func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEveryFixtureIsListed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("fixtures", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for _, f := range files {
		seen[filepath.Base(f)] = true
		if fixtures[filepath.Base(f)] == nil {
			t.Errorf("%s is not listed in the contract test", f)
		}
	}
	for name := range fixtures {
		if !seen[name] {
			t.Errorf("fixtures/%s is missing", name)
		}
	}
}

// Each fixture must be exactly what Connect's JSON codec sends for the message it parses to.
func TestFixturesAreWhatConnectSends(t *testing.T) {
	for name := range fixtures {
		t.Run(name, func(t *testing.T) {
			msg := load(t, name)
			data, err := os.ReadFile(filepath.Join("fixtures", name))
			if err != nil {
				t.Fatal(err)
			}
			// The options connect-go's JSON codec marshals with.
			out, err := protojson.MarshalOptions{}.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			if want, got := decodeJSON(t, data), decodeJSON(t, out); !reflect.DeepEqual(want, got) {
				t.Errorf("%s re-marshals differently:\nfixture: %s\nnow:     %s", name, data, out)
			}
			bin, err := proto.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			back := fixtures[name]()
			if err := proto.Unmarshal(bin, back); err != nil || !proto.Equal(msg, back) {
				t.Errorf("%s does not survive the binary codec: %v", name, err)
			}
		})
	}
}

// The request fixtures are requests the server accepts: they pass the protos' validation rules, and so
// does each mutation of the push on its own (the request's rules leave them to the server, which checks
// them one by one so that one bad mutation does not refuse the others).
func TestRequestFixturesAreValid(t *testing.T) {
	for _, name := range []string{"pull_request_first.json", "pull_request.json", "push_request.json", "server_info_request.json"} {
		if err := protovalidate.Validate(load(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for i, m := range load(t, "push_request.json").(*salesappv1.PushRequest).GetMutations() {
		if err := protovalidate.Validate(m); err != nil {
			t.Errorf("push_request.json mutation %d: %v", i, err)
		}
	}
}

// The fixtures grow with the protocol: a new entity kind or mutation has to be shown in them.
func TestFixturesCoverTheProtocol(t *testing.T) {
	page := load(t, "pull_response_page.json").(*salesappv1.PullResponse)
	kinds := make(map[salesappv1.EntityKind]bool)
	tombstones := 0
	for _, c := range page.GetChanges() {
		if c.GetDeleted() {
			tombstones++
			if c.GetEntity() != nil {
				t.Errorf("tombstone %s/%s carries an entity", c.GetKind(), c.GetId())
			}
			continue
		}
		kinds[c.GetKind()] = true
	}
	if tombstones == 0 {
		t.Error("pull_response_page.json has no tombstone")
	}
	values := salesappv1.EntityKind(0).Descriptor().Values()
	for i := range values.Len() {
		k := salesappv1.EntityKind(values.Get(i).Number())
		if k != salesappv1.EntityKind_ENTITY_KIND_UNSPECIFIED && !kinds[k] {
			t.Errorf("pull_response_page.json has no upsert of %s", k)
		}
	}

	push := load(t, "push_request.json").(*salesappv1.PushRequest)
	ops := make(map[protoreflect.Name]bool)
	for _, m := range push.GetMutations() {
		if fd := m.ProtoReflect().WhichOneof(m.ProtoReflect().Descriptor().Oneofs().ByName("op")); fd != nil {
			ops[fd.Name()] = true
		}
	}
	fields := (&salesappv1.Mutation{}).ProtoReflect().Descriptor().Oneofs().ByName("op").Fields()
	for i := range fields.Len() {
		if !ops[fields.Get(i).Name()] {
			t.Errorf("push_request.json has no %s mutation", fields.Get(i).Name())
		}
	}

	results := load(t, "push_response.json").(*salesappv1.PushResponse).GetResults()
	outcomes := make(map[salesappv1.MutationResult_Outcome]bool)
	for i, r := range results {
		outcomes[r.GetOutcome()] = true
		if want := push.GetMutations()[i].GetId(); r.GetId() != want {
			t.Errorf("push_response.json result %d answers mutation %d, want %d", i, r.GetId(), want)
		}
	}
	for _, o := range []salesappv1.MutationResult_Outcome{salesappv1.MutationResult_OUTCOME_APPLIED,
		salesappv1.MutationResult_OUTCOME_LOST, salesappv1.MutationResult_OUTCOME_REJECTED} {
		if !outcomes[o] {
			t.Errorf("push_response.json has no %s result", o)
		}
	}

	if reset := load(t, "pull_response_reset.json").(*salesappv1.PullResponse); !reset.GetMustReset() ||
		len(reset.GetChanges()) != 0 || reset.GetNextCursor() != "" {
		t.Errorf("pull_response_reset.json is not a bare reset: %v", reset)
	}
}
