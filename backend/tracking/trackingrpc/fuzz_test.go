package trackingrpc

import (
	"testing"

	"github.com/salesapp/scrm/backend/tracking"
)

// The beacon endpoint reads JSON from anyone on the internet: any body decodes to an error or to events and
// rejections that account for distinct positions of the request, in order, never more than a batch, and
// never a panic.
func FuzzDecodeBeacon(f *testing.F) {
	for _, s := range []string{
		`{"events":[{"eventId":"0192b1c2-3d4e-7f60-8a9b-0c1d2e3f4a5b","kind":"EVENT_KIND_CARD_VIEW","shareToken":"AbCdEfGhIjKlMnOp","visitorId":"visitor-0001"}]}`,
		`{"events":[{"eventId":"x","kind":"EVENT_KIND_DWELL","dwellMs":"5000"},{"kind":"NOPE"},7,null]}`,
		`{"events":[]}`, `{}`, `[]`, `{"events":{}}`, `{"events":[{"eventId":"0192b1c2-3d4e-7f60-8a9b-0c1d2e3f4a5b","occurredAt":"9999-99-99T00:00:00Z"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, index, rejected, err := decodeBeacon(body)
		if err != nil {
			if len(events)+len(index)+len(rejected) > 0 {
				t.Fatalf("an error (%v) with results", err)
			}
			return
		}
		if len(events) != len(index) {
			t.Fatalf("%d events but %d positions", len(events), len(index))
		}
		if len(events)+len(rejected) > tracking.MaxBatch {
			t.Fatalf("%d events and %d rejections: more than a batch", len(events), len(rejected))
		}
		seen := map[int]bool{}
		for i, at := range index {
			if at < 0 || seen[at] || i > 0 && at <= index[i-1] {
				t.Fatalf("event positions %v are not distinct and in order", index)
			}
			seen[at] = true
		}
		for i, r := range rejected {
			if r.Index < 0 || seen[r.Index] || i > 0 && r.Index <= rejected[i-1].Index {
				t.Fatalf("rejection %d at %d overlaps or is out of order (events at %v)", i, r.Index, index)
			}
			seen[r.Index] = true
		}
	})
}
