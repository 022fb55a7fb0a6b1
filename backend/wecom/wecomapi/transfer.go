package wecomapi

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/salesapp/scrm/backend/platform"
)

// Limits of the transfer APIs.
const (
	// MaxTransferCustomers is the most customers one transfer moves.
	MaxTransferCustomers = 100
	// MaxTransferMsgChars bounds the message the customer gets on an on-the-job transfer.
	MaxTransferMsgChars = 200
	// MaxUnassignedPageSize is the most customers get_unassigned_list answers at once.
	MaxUnassignedPageSize = 1000
)

// Transfer moves customers from one member to another.
type Transfer struct {
	HandoverUserID  string
	TakeoverUserID  string
	ExternalUserIDs []string
	// SuccessMsg is what the customer is told (on-the-job transfers only; WeCom's default when empty).
	SuccessMsg string
}

// TransferOutcome is WeCom's answer for one customer of a transfer: ErrCode 0 means the transfer started
// (it completes within 24 hours unless the customer refuses), anything else why it did not.
type TransferOutcome struct {
	ExternalUserID string `json:"external_userid"`
	ErrCode        int    `json:"errcode"`
}

func (t Transfer) check(resigned bool) error {
	if err := checkUserID("handover_userid", t.HandoverUserID); err != nil {
		return err
	}
	if err := checkUserID("takeover_userid", t.TakeoverUserID); err != nil {
		return err
	}
	if t.HandoverUserID == t.TakeoverUserID {
		return platform.Invalid("takeover_userid", "customers are transferred to another member")
	}
	if len(t.ExternalUserIDs) == 0 || len(t.ExternalUserIDs) > MaxTransferCustomers {
		return platform.Invalid("external_userid", fmt.Sprintf("transfer 1 to %d customers at a time", MaxTransferCustomers))
	}
	for _, id := range t.ExternalUserIDs {
		if err := checkExternalUserID("external_userid", id); err != nil {
			return err
		}
	}
	if resigned && t.SuccessMsg != "" {
		return platform.Invalid("transfer_success_msg", "a transfer after resignation sends no message")
	}
	if utf8.RuneCountInString(t.SuccessMsg) > MaxTransferMsgChars {
		return platform.Invalid("transfer_success_msg", fmt.Sprintf("the message is at most %d characters", MaxTransferMsgChars))
	}
	return nil
}

// TransferCustomers starts an on-the-job transfer (externalcontact/transfer_customer): WeCom tells each
// customer and moves them after 24 hours unless they refuse. Poll TransferResult for the outcome.
func (c *Client) TransferCustomers(ctx context.Context, t Transfer) ([]TransferOutcome, error) {
	return c.transfer(ctx, "externalcontact/transfer_customer", t, false)
}

// TransferResignedCustomers starts a transfer of a resigned member's customers
// (externalcontact/resigned/transfer_customer), as listed by UnassignedContacts. Poll ResignedTransferResult.
func (c *Client) TransferResignedCustomers(ctx context.Context, t Transfer) ([]TransferOutcome, error) {
	return c.transfer(ctx, "externalcontact/resigned/transfer_customer", t, true)
}

func (c *Client) transfer(ctx context.Context, api string, t Transfer, resigned bool) ([]TransferOutcome, error) {
	if err := t.check(resigned); err != nil {
		return nil, err
	}
	in := struct {
		HandoverUserID string   `json:"handover_userid"`
		TakeoverUserID string   `json:"takeover_userid"`
		ExternalUserID []string `json:"external_userid"`
		SuccessMsg     string   `json:"transfer_success_msg,omitempty"`
	}{t.HandoverUserID, t.TakeoverUserID, t.ExternalUserIDs, t.SuccessMsg}
	var out struct {
		Customer []TransferOutcome `json:"customer"`
	}
	if err := c.write(ctx, api, in, &out); err != nil {
		return nil, err
	}
	return out.Customer, nil
}

// TransferStatus is how a customer's transfer stands.
type TransferStatus int

// Transfer statuses.
const (
	// TransferDone: the takeover member has the customer.
	TransferDone TransferStatus = 1
	// TransferWaiting: WeCom moves the customer at TakeoverTime unless they refuse.
	TransferWaiting TransferStatus = 2
	// TransferRefused: the customer refused.
	TransferRefused TransferStatus = 3
	// TransferLimitReached: the takeover member has as many customers as WeCom allows.
	TransferLimitReached TransferStatus = 4
	// TransferNone: WeCom has no record of this transfer.
	TransferNone TransferStatus = 5
)

// TransferState is one customer's transfer.
type TransferState struct {
	ExternalUserID string         `json:"external_userid"`
	Status         TransferStatus `json:"status"`
	// TakeoverTime is when the customer moved, or will move while waiting (Unix seconds).
	TakeoverTime int64 `json:"takeover_time"`
}

// TransferPage is one page of transfer results.
type TransferPage struct {
	Customers []TransferState
	// NextCursor continues the listing; empty on the last page.
	NextCursor string
}

// TransferResult reads how the on-the-job transfers from handover to takeover stand
// (externalcontact/transfer_result), a page from cursor ("" first).
func (c *Client) TransferResult(ctx context.Context, handoverUserID, takeoverUserID, cursor string) (TransferPage, error) {
	return c.transferResult(ctx, "externalcontact/transfer_result", handoverUserID, takeoverUserID, cursor)
}

// ResignedTransferResult reads how the transfers of a resigned member's customers stand
// (externalcontact/resigned/transfer_result).
func (c *Client) ResignedTransferResult(ctx context.Context, handoverUserID, takeoverUserID, cursor string) (TransferPage, error) {
	return c.transferResult(ctx, "externalcontact/resigned/transfer_result", handoverUserID, takeoverUserID, cursor)
}

func (c *Client) transferResult(ctx context.Context, api, handover, takeover, cursor string) (TransferPage, error) {
	if err := checkUserID("handover_userid", handover); err != nil {
		return TransferPage{}, err
	}
	if err := checkUserID("takeover_userid", takeover); err != nil {
		return TransferPage{}, err
	}
	in := struct {
		HandoverUserID string `json:"handover_userid"`
		TakeoverUserID string `json:"takeover_userid"`
		Cursor         string `json:"cursor,omitempty"`
	}{handover, takeover, cursor}
	var out struct {
		Customer   []TransferState `json:"customer"`
		NextCursor string          `json:"next_cursor"`
	}
	if err := c.read(ctx, api, in, &out); err != nil {
		return TransferPage{}, err
	}
	return TransferPage{Customers: out.Customer, NextCursor: out.NextCursor}, nil
}

// Unassigned is a customer of a member who resigned, waiting to be given to someone.
type Unassigned struct {
	HandoverUserID string `json:"handover_userid"`
	ExternalUserID string `json:"external_userid"`
	// DimissionTime is when the member left (Unix seconds).
	DimissionTime int64 `json:"dimission_time"`
}

// UnassignedPage is one page of UnassignedContacts.
type UnassignedPage struct {
	Contacts []Unassigned
	// NextCursor continues the listing; empty on the last page.
	NextCursor string
	// IsLast says this is the last page.
	IsLast bool
}

// UnassignedContacts lists the customers of resigned members not yet transferred
// (externalcontact/get_unassigned_list), pageSize (1…1000) from cursor ("" first).
func (c *Client) UnassignedContacts(ctx context.Context, cursor string, pageSize int) (UnassignedPage, error) {
	if pageSize < 1 || pageSize > MaxUnassignedPageSize {
		return UnassignedPage{}, platform.Invalid("page_size", fmt.Sprintf("the page size must be 1 to %d", MaxUnassignedPageSize))
	}
	in := struct {
		Cursor   string `json:"cursor,omitempty"`
		PageSize int    `json:"page_size"`
	}{cursor, pageSize}
	var out struct {
		Info       []Unassigned `json:"info"`
		IsLast     bool         `json:"is_last"`
		NextCursor string       `json:"next_cursor"`
	}
	if err := c.read(ctx, "externalcontact/get_unassigned_list", in, &out); err != nil {
		return UnassignedPage{}, err
	}
	return UnassignedPage{Contacts: out.Info, NextCursor: out.NextCursor, IsLast: out.IsLast}, nil
}
