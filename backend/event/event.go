// Package event is the vocabulary of what customers do and where they come from: the event kinds a page
// reports and the channels a share is posted to. It is one typed list used by every package (tracking
// stores them, customer tells them in timelines, share records channels, the adapters map them to the
// wire), so a new kind is added here once. It imports nothing of the project's.
package event

// Kind is what a customer did.
type Kind string

// The kinds of event.
const (
	CardView      Kind = "card_view"
	MaterialView  Kind = "material_view"
	Dwell         Kind = "dwell"
	Forward       Kind = "forward"
	CallClick     Kind = "call_click"
	WeChatClick   Kind = "wechat_click"
	PhoneLeft     Kind = "phone_left"
	VideoProgress Kind = "video_progress"
	BrochurePage  Kind = "brochure_page"
	// WeComAdded is the customer adding their salesperson on WeCom (an external contact callback). The
	// server records it; a page never reports it, so Valid is false for it.
	WeComAdded Kind = "wecom_added"
)

// Kinds lists every kind, in the order the API numbers them.
var Kinds = []Kind{CardView, MaterialView, Dwell, Forward, CallClick, WeChatClick, PhoneLeft, VideoProgress, BrochurePage, WeComAdded}

// Valid reports whether k is a kind a page may report (every kind but WeComAdded, which only the server
// records).
func (k Kind) Valid() bool {
	switch k {
	case CardView, MaterialView, Dwell, Forward, CallClick, WeChatClick, PhoneLeft, VideoProgress, BrochurePage:
		return true
	}
	return false
}

// IsView reports whether k opens a page (a card or a material): what counts as a view and what
// heartbeats (Dwell) add reading time to.
func (k Kind) IsView() bool { return k == CardView || k == MaterialView }

// Channel is where a share was posted.
type Channel string

// The channels.
const (
	ChannelChat    Channel = "chat"
	ChannelGroup   Channel = "group"
	ChannelMoments Channel = "moments"
	ChannelQR      Channel = "qr"
	ChannelOther   Channel = "other"
)

// Channels lists every channel.
var Channels = []Channel{ChannelChat, ChannelGroup, ChannelMoments, ChannelQR, ChannelOther}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	switch c {
	case ChannelChat, ChannelGroup, ChannelMoments, ChannelQR, ChannelOther:
		return true
	}
	return false
}
