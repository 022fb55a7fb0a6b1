package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
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
