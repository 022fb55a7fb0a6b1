package eventrpc_test

import (
	"testing"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/event"
	"github.com/salesapp/scrm/backend/event/eventrpc"
)

// Every kind and channel of the vocabulary has a wire value and comes back as itself: a kind added to
// event without a wire value fails here.
func TestEveryKindAndChannelRoundTrips(t *testing.T) {
	for _, k := range event.Kinds {
		w := eventrpc.KindToProto(k)
		if w == salesappv1.EventKind_EVENT_KIND_UNSPECIFIED || eventrpc.KindFromProto(w) != k {
			t.Errorf("kind %q: wire %v, back %q", k, w, eventrpc.KindFromProto(w))
		}
	}
	for _, c := range event.Channels {
		w := eventrpc.ChannelToProto(c)
		if w == salesappv1.ShareChannel_SHARE_CHANNEL_UNSPECIFIED || eventrpc.ChannelFromProto(w) != c {
			t.Errorf("channel %q: wire %v, back %q", c, w, eventrpc.ChannelFromProto(w))
		}
	}
	if got := eventrpc.KindFromProto(salesappv1.EventKind_EVENT_KIND_UNSPECIFIED); got != "" || got.Valid() {
		t.Errorf("unspecified kind maps to %q", got)
	}
	for w := range salesappv1.EventKind_name {
		// WeComAdded is recorded by the server, never reported by a page.
		if k := eventrpc.KindFromProto(salesappv1.EventKind(w)); w != 0 && !k.Valid() && k != event.WeComAdded {
			t.Errorf("wire kind %v has no kind in the vocabulary", salesappv1.EventKind(w))
		}
	}
}
