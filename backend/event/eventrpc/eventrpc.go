// Package eventrpc converts the event vocabulary (kinds and channels) to and from the wire. Every adapter
// that carries a kind or a channel uses it, so each has one mapping.
package eventrpc

import (
	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/backend/event"
)

var kinds = map[salesappv1.EventKind]event.Kind{
	salesappv1.EventKind_EVENT_KIND_CARD_VIEW:      event.CardView,
	salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW:  event.MaterialView,
	salesappv1.EventKind_EVENT_KIND_DWELL:          event.Dwell,
	salesappv1.EventKind_EVENT_KIND_FORWARD:        event.Forward,
	salesappv1.EventKind_EVENT_KIND_CALL_CLICK:     event.CallClick,
	salesappv1.EventKind_EVENT_KIND_WECHAT_CLICK:   event.WeChatClick,
	salesappv1.EventKind_EVENT_KIND_PHONE_LEFT:     event.PhoneLeft,
	salesappv1.EventKind_EVENT_KIND_VIDEO_PROGRESS: event.VideoProgress,
	salesappv1.EventKind_EVENT_KIND_BROCHURE_PAGE:  event.BrochurePage,
	salesappv1.EventKind_EVENT_KIND_WECOM_ADDED:    event.WeComAdded,
}

var channels = map[salesappv1.ShareChannel]event.Channel{
	salesappv1.ShareChannel_SHARE_CHANNEL_CHAT:    event.ChannelChat,
	salesappv1.ShareChannel_SHARE_CHANNEL_GROUP:   event.ChannelGroup,
	salesappv1.ShareChannel_SHARE_CHANNEL_MOMENTS: event.ChannelMoments,
	salesappv1.ShareChannel_SHARE_CHANNEL_QR:      event.ChannelQR,
	salesappv1.ShareChannel_SHARE_CHANNEL_OTHER:   event.ChannelOther,
}

// The reverse mappings, for the way out.
var (
	kindsOut    = make(map[event.Kind]salesappv1.EventKind, len(kinds))
	channelsOut = make(map[event.Channel]salesappv1.ShareChannel, len(channels))
)

func init() {
	for w, k := range kinds {
		kindsOut[k] = w
	}
	for w, c := range channels {
		channelsOut[c] = w
	}
}

// KindFromProto converts an event kind from the wire ("" when unspecified or unknown).
func KindFromProto(k salesappv1.EventKind) event.Kind { return kinds[k] }

// KindToProto converts an event kind for the wire (UNSPECIFIED when unknown).
func KindToProto(k event.Kind) salesappv1.EventKind { return kindsOut[k] }

// ChannelFromProto converts a share channel from the wire ("" when unspecified).
func ChannelFromProto(c salesappv1.ShareChannel) event.Channel { return channels[c] }

// ChannelToProto converts a share channel for the wire (UNSPECIFIED when unknown).
func ChannelToProto(c event.Channel) salesappv1.ShareChannel { return channelsOut[c] }
