package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/customer/customerrpc"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/event/eventrpc"
	"github.com/salesapp/scrm/backend/material"
	"github.com/salesapp/scrm/backend/material/materialrpc"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/rpcserver"
	"github.com/salesapp/scrm/backend/tenant/tenantrpc"
)

// The API has no 64-bit integers (issue 14): protobuf's JSON writes those as strings and protobuf-es
// makes them bigint, which JSON.stringify and wx.setStorage refuse, so every counter, id of a mutation,
// size and version is 32-bit and reaches JavaScript as a number.
func TestTheAPIHasNo64BitIntegers(t *testing.T) {
	var wide []string
	fields := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("salesapp.v1", func(f protoreflect.FileDescriptor) bool {
		var walk func(ms protoreflect.MessageDescriptors)
		walk = func(ms protoreflect.MessageDescriptors) {
			for i := range ms.Len() {
				m := ms.Get(i)
				for j := range m.Fields().Len() {
					fd := m.Fields().Get(j)
					fields++
					switch fd.Kind() {
					case protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.Sint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
						wide = append(wide, string(fd.FullName()))
					}
				}
				walk(m.Messages())
			}
		}
		walk(f.Messages())
		return true
	})
	require.Greater(t, fields, 500, "the API's files are registered")
	require.Empty(t, wide)

	// What apps built before sent, 64-bit values as strings, still reads.
	var m salesappv1.Mutation
	require.NoError(t, protojson.Unmarshal([]byte(`{"id":"7","setStage":{"customerId":"x","stage":"CUSTOMER_STAGE_WON"}}`), &m))
	require.EqualValues(t, 7, m.GetId())
	require.Equal(t, salesappv1.CustomerStage_CUSTOMER_STAGE_WON, m.GetSetStage().GetStage())
}

// Sync (which may not import the domains) maps the words its tables keep to the API's enums by the enums'
// value names (rpcserver.Words); the domains' adapters map their constants by hand. Both agree on every
// word, so a customer's stage, a material's tier or a person's role is one value whichever service sends it.
func TestSyncsWordsAreTheAdaptersEnums(t *testing.T) {
	check := func(name string, words []string, byName func(string) int32, byAdapter func(string) int32) {
		t.Helper()
		for _, w := range words {
			require.NotZero(t, byName(w), "%s %q has a value of its enum", name, w)
			require.Equal(t, byAdapter(w), byName(w), "%s %q", name, w)
		}
	}
	stages := rpcserver.NewWords[salesappv1.CustomerStage](salesappv1.CustomerStage_value, "CUSTOMER_STAGE_")
	check("stage", []string{"new", "contacted", "interested", "negotiating", "won", "lost"},
		func(w string) int32 { return int32(stages.Enum(w)) }, func(w string) int32 { return int32(customerrpc.StageToProto(customer.Stage(w))) })
	channels := rpcserver.NewWords[salesappv1.ShareChannel](salesappv1.ShareChannel_value, "SHARE_CHANNEL_")
	var chs []string
	for _, c := range event.Channels {
		chs = append(chs, string(c))
	}
	check("channel", chs, func(w string) int32 { return int32(channels.Enum(w)) }, func(w string) int32 { return int32(eventrpc.ChannelToProto(event.Channel(w))) })
	events := rpcserver.NewWords[salesappv1.EventKind](salesappv1.EventKind_value, "EVENT_KIND_")
	var kinds []string
	for _, k := range event.Kinds {
		kinds = append(kinds, string(k))
	}
	check("event kind", kinds, func(w string) int32 { return int32(events.Enum(w)) }, func(w string) int32 { return int32(eventrpc.KindToProto(event.Kind(w))) })
	tiers := rpcserver.NewWords[salesappv1.MaterialTier](salesappv1.MaterialTier_value, "MATERIAL_TIER_")
	check("tier", []string{string(material.TierPlatform), string(material.TierEnterprise), string(material.TierPersonal)},
		func(w string) int32 { return int32(tiers.Enum(w)) }, func(w string) int32 { return int32(materialrpc.TierToProto(material.Tier(w))) })
	mkinds := rpcserver.NewWords[salesappv1.MaterialKind](salesappv1.MaterialKind_value, "MATERIAL_KIND_")
	check("material kind", []string{string(material.KindPoster), string(material.KindArticle), string(material.KindBrochure), string(material.KindVideo), string(material.KindMoments)},
		func(w string) int32 { return int32(mkinds.Enum(w)) }, func(w string) int32 { return int32(materialrpc.KindToProto(material.Kind(w))) })
	statuses := rpcserver.NewWords[salesappv1.MaterialStatus](salesappv1.MaterialStatus_value, "MATERIAL_STATUS_")
	check("material status", []string{string(material.StatusDraft), string(material.StatusInReview), string(material.StatusPublished), string(material.StatusRejected)},
		func(w string) int32 { return int32(statuses.Enum(w)) }, func(w string) int32 { return int32(materialrpc.StatusToProto(material.Status(w))) })
	roles := rpcserver.NewWords[salesappv1.Role](salesappv1.Role_value, "ROLE_")
	check("role", []string{string(authn.RoleAdmin), string(authn.RoleManager), string(authn.RoleSales)},
		func(w string) int32 { return int32(roles.Enum(w)) }, func(w string) int32 { return int32(tenantrpc.RoleToProto(authn.Role(w))) })
}
