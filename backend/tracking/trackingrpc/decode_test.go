package trackingrpc

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func beaconBody(n int) []byte {
	var evs []string
	for range n {
		evs = append(evs, fmt.Sprintf(`{"eventId":%q,"kind":"EVENT_KIND_VIEW","shareToken":"abcdefghijkl","visitorId":"v-123456","dwellMs":1200,"occurredAt":"2026-01-02T03:04:05Z","viewId":%q}`,
			uuid.NewString(), uuid.NewString()))
	}
	return []byte(`{"events":[` + strings.Join(evs, ",") + `]}`)
}

func BenchmarkDecodeBeacon(b *testing.B) {
	for _, n := range []int{1, 20} {
		body := beaconBody(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := decodeBeacon(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Both decodings, whole and event by event, leave out only the events at fault and keep the positions of
// the others.
func TestDecodeBeaconRejectsBadEventsAlone(t *testing.T) {
	good := `{"eventId":"` + uuid.NewString() + `","kind":"EVENT_KIND_MATERIAL_VIEW","shareToken":"t","visitorId":"v"}`
	badID := `{"eventId":"nope","kind":"EVENT_KIND_MATERIAL_VIEW","shareToken":"t","visitorId":"v"}`
	for name, c := range map[string]struct {
		events []string
		fields []string
	}{
		"decodes whole":     {[]string{badID, good}, []string{"events[0].event_id"}},
		"decodes per event": {[]string{badID, `{"eventId":42}`, good}, []string{"events[0].event_id", "events[1]"}},
	} {
		events, index, rejected, err := decodeBeacon([]byte(`{"events":[` + strings.Join(c.events, ",") + `]}`))
		require.NoError(t, err, name)
		require.Len(t, events, 1, name)
		require.Equal(t, []int{len(c.events) - 1}, index, name)
		var fields []string
		for _, r := range rejected {
			fields = append(fields, r.Field)
			require.NotEmpty(t, r.Reason, name)
		}
		require.Equal(t, c.fields, fields, name)
	}
	_, _, _, err := decodeBeacon([]byte(`[1]`))
	require.Error(t, err)
	_, _, _, err = decodeBeacon(beaconBody(101))
	require.Error(t, err)
}
