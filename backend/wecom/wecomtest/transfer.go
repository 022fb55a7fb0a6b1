package wecomtest

import (
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// transferWait is how long WeCom waits before moving a customer of an on-the-job transfer.
const transferWait = 24 * time.Hour

type pendingTransfer struct {
	resigned           bool
	handover, takeover string
	extID              string
	status             wecomapi.TransferStatus
	takeoverTime       time.Time
}

// AddUnassigned lists a customer of a resigned member as waiting for a new owner.
func (s *Server) AddUnassigned(handoverUserID, externalUserID string, dimission time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unassigned = append(s.unassigned, wecomapi.Unassigned{HandoverUserID: handoverUserID, ExternalUserID: externalUserID,
		DimissionTime: dimission.Unix()})
}

// CompleteTransfers ends every waiting transfer of the customer with status, as WeCom does after 24 hours
// or when the customer refuses; TransferDone moves the customer's follow from the handover member to the
// takeover member. It returns how many transfers it ended.
func (s *Server) CompleteTransfers(externalUserID string, status wecomapi.TransferStatus) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.transfers {
		if t.extID != externalUserID || t.status != wecomapi.TransferWaiting {
			continue
		}
		n++
		t.status, t.takeoverTime = status, s.clock
		if status != wecomapi.TransferDone {
			continue
		}
		ct := s.contacts[t.extID]
		if ct == nil {
			continue
		}
		if f := ct.follow(t.handover); f != nil {
			moved := *f
			moved.UserID, moved.AddWay, moved.OperUserID, moved.CreateTime = t.takeover, wecomapi.AddWayAssigned, t.handover, s.clock.Unix()
			ct.follows = slices.DeleteFunc(ct.follows, func(x wecomapi.FollowUser) bool { return x.UserID == t.handover })
			s.addContact(ct.info, moved)
		}
	}
	return n
}

func (s *Server) transferCustomer(resigned bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			HandoverUserID string   `json:"handover_userid"`
			TakeoverUserID string   `json:"takeover_userid"`
			ExternalUserID []string `json:"external_userid"`
			SuccessMsg     string   `json:"transfer_success_msg"`
		}
		if !decodeBody(w, r, &in) {
			return
		}
		switch {
		case len(in.ExternalUserID) == 0 || len(in.ExternalUserID) > wecomapi.MaxTransferCustomers:
			writeErrcode(w, CodeInvalidParameter, "external_userid size must be 1 to 100")
			return
		case utf8.RuneCountInString(in.SuccessMsg) > wecomapi.MaxTransferMsgChars:
			writeErrcode(w, CodeInvalidParameter, "transfer_success_msg too long")
			return
		case s.users[in.TakeoverUserID] == nil:
			writeErrcode(w, wecomapi.CodeUserNotFound, "takeover userid not found")
			return
		}
		out := []wecomapi.TransferOutcome{}
		for _, ext := range in.ExternalUserID {
			code := 0
			ct := s.contacts[ext]
			switch {
			case ct == nil || ct.follow(in.HandoverUserID) == nil:
				code = wecomapi.CodeNotExternalContact
			case resigned && !slices.ContainsFunc(s.unassigned, func(u wecomapi.Unassigned) bool {
				return u.HandoverUserID == in.HandoverUserID && u.ExternalUserID == ext
			}):
				code = wecomapi.CodeNotExternalContact
			default:
				s.transfers = append(s.transfers, &pendingTransfer{resigned: resigned, handover: in.HandoverUserID,
					takeover: in.TakeoverUserID, extID: ext, status: wecomapi.TransferWaiting, takeoverTime: s.clock.Add(transferWait)})
				if resigned {
					s.unassigned = slices.DeleteFunc(s.unassigned, func(u wecomapi.Unassigned) bool {
						return u.HandoverUserID == in.HandoverUserID && u.ExternalUserID == ext
					})
				}
			}
			out = append(out, wecomapi.TransferOutcome{ExternalUserID: ext, ErrCode: code})
		}
		answerOK(w, map[string]any{"customer": out})
	}
}

// transferResultPage is how many customers transfer_result answers at once.
const transferResultPage = 100

func (s *Server) transferResult(resigned bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			HandoverUserID string `json:"handover_userid"`
			TakeoverUserID string `json:"takeover_userid"`
			Cursor         string `json:"cursor"`
		}
		if !decodeBody(w, r, &in) {
			return
		}
		start, good := offsetCursor(w, in.Cursor)
		if !good {
			return
		}
		var all []wecomapi.TransferState
		for _, t := range s.transfers {
			if t.resigned == resigned && t.handover == in.HandoverUserID && t.takeover == in.TakeoverUserID {
				all = append(all, wecomapi.TransferState{ExternalUserID: t.extID, Status: t.status, TakeoverTime: t.takeoverTime.Unix()})
			}
		}
		from, to, next := pageRange(len(all), start, transferResultPage)
		answerOK(w, map[string]any{"customer": append([]wecomapi.TransferState{}, all[from:to]...), "next_cursor": next})
	}
}

func (s *Server) getUnassignedList(w http.ResponseWriter, r *http.Request) {
	var in struct {
		PageID   int    `json:"page_id"`
		Cursor   string `json:"cursor"`
		PageSize int    `json:"page_size"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.PageSize == 0 {
		in.PageSize = wecomapi.MaxUnassignedPageSize
	}
	if in.PageSize < 0 || in.PageSize > wecomapi.MaxUnassignedPageSize {
		writeErrcode(w, CodeInvalidParameter, "invalid page_size")
		return
	}
	start, good := offsetCursor(w, in.Cursor)
	if !good {
		return
	}
	if in.Cursor == "" {
		start = in.PageID * in.PageSize
	}
	from, to, next := pageRange(len(s.unassigned), start, in.PageSize)
	answerOK(w, map[string]any{"info": append([]wecomapi.Unassigned{}, s.unassigned[from:to]...), "is_last": next == "", "next_cursor": next})
}
