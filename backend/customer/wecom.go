package customer

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
)

// WeComContact is a customer as WeCom describes them to one member who has them as an external contact.
type WeComContact struct {
	ExternalUserID string
	// UnionID is the customer's WeChat unionid when WeCom gives one: the same person as a mini-program or
	// H5 visitor who proved it.
	UnionID string
	// Name and AvatarURL are the WeChat nickname and avatar.
	Name, AvatarURL string
	// Remark and Description are what the member noted about the customer in WeCom.
	Remark, Description string
	// OwnerID is the member's employee (uuid.Nil when no employee has their WeCom userid): the owner of a
	// new customer, or of one nobody owns.
	OwnerID uuid.UUID
}

// WeComCustomer is the customer a WeComContactTx resolved to.
type WeComCustomer struct {
	ID          uuid.UUID
	OwnerID     uuid.UUID
	DisplayName string
	// New says the customer was made for this contact.
	New bool
}

// maxRemark bounds the mirrored remark (WeCom's remark is ≤ 30 characters, its description ≤ 150).
const maxRemark = 500

// WeComContactTx ties a WeCom external contact to their customer, inside the caller's transaction: the
// customer who has the unionid, else the one who has the external userid, else a new one owned by the
// member. Both identities are claimed for that customer; a customer who held one of them (a WeCom contact
// met before WeCom gave the unionid, or a visitor) is merged into it with everything they had, as at a
// sign-in. The WeChat name and avatar fill in what the customer lacks, and the member's remark (and
// description) becomes the customer's remark.
func WeComContactTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, c WeComContact) (WeComCustomer, error) {
	if c.ExternalUserID == "" {
		return WeComCustomer{}, errors.New("customer: a WeCom contact without an external userid")
	}
	q := customerdb.New(tx)
	ids := []Identity{{IdentityUnion, c.UnionID}, {IdentityExternalUserID, c.ExternalUserID}}
	var out WeComCustomer
	for _, id := range ids {
		if id.Value == "" {
			continue
		}
		known, err := q.CustomerByIdentity(ctx, customerdb.CustomerByIdentityParams{TenantID: tenantID, Kind: id.Kind, Value: id.Value})
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return WeComCustomer{}, err
		}
		if out.ID, err = Survivor(ctx, tx, tenantID, known); err != nil {
			return WeComCustomer{}, err
		}
		break
	}
	owner := uuid.NullUUID{UUID: c.OwnerID, Valid: c.OwnerID != uuid.Nil}
	if out.ID == uuid.Nil {
		out.ID, out.New = uuid.Must(uuid.NewV7()), true
		if err := q.NewWeComCustomer(ctx, customerdb.NewWeComCustomerParams{ID: out.ID, TenantID: tenantID, OwnerID: owner,
			DisplayName: clip(c.Name, 64), AvatarUrl: c.AvatarURL}); err != nil {
			return WeComCustomer{}, err
		}
	}
	for _, id := range ids {
		if id.Value == "" {
			continue
		}
		holder, err := q.AddIdentity(ctx, customerdb.AddIdentityParams{TenantID: tenantID, Kind: id.Kind, Value: id.Value, CustomerID: out.ID})
		if err != nil {
			return WeComCustomer{}, err
		}
		if holder != out.ID {
			if out.ID, err = merge(ctx, q, tenantID, holder, out.ID); err != nil {
				return WeComCustomer{}, err
			}
		}
	}
	var notes []string
	for _, s := range []string{c.Remark, c.Description} {
		if s = strings.TrimSpace(s); s != "" {
			notes = append(notes, s)
		}
	}
	row, err := q.MirrorWeComContact(ctx, customerdb.MirrorWeComContactParams{TenantID: tenantID, ID: out.ID,
		Name: clip(c.Name, 64), AvatarUrl: c.AvatarURL, Remark: clip(strings.Join(notes, " · "), maxRemark), OwnerID: owner})
	if err != nil {
		return WeComCustomer{}, err
	}
	out.OwnerID, out.DisplayName = row.OwnerID.UUID, row.DisplayName
	return out, nil
}

// RecordWeComAddedTx adds the timeline entry of a customer adding employeeID (uuid.Nil: no employee) on
// WeCom, inside the caller's transaction. id is the entry's: the id of the callback it comes from, so a
// callback processed again adds nothing (false).
func RecordWeComAddedTx(ctx context.Context, tx pgx.Tx, tenantID, id, customerID, employeeID uuid.UUID, at time.Time) (bool, error) {
	n, err := customerdb.New(tx).RecordWeComAdded(ctx, customerdb.RecordWeComAddedParams{TenantID: tenantID, ID: id,
		CustomerID: customerID, EmployeeID: uuid.NullUUID{UUID: employeeID, Valid: employeeID != uuid.Nil}, OccurredAt: at})
	return n == 1, err
}

// CustomerByExternalUserIDTx finds the customer of a WeCom external userid (followed past merges), inside
// the caller's transaction; uuid.Nil when none has it.
func CustomerByExternalUserIDTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, externalUserID string) (uuid.UUID, error) {
	id, err := customerdb.New(tx).CustomerByIdentity(ctx, customerdb.CustomerByIdentityParams{TenantID: tenantID,
		Kind: IdentityExternalUserID, Value: externalUserID})
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, nil
	}
	if err != nil {
		return uuid.Nil, err
	}
	return Survivor(ctx, tx, tenantID, id)
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// AddTagsTx adds tags to a customer (those they lack, after theirs, MaxTags in all), inside the caller's
// transaction: a channel's auto-tags.
func AddTagsTx(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, tags []string) error {
	tags = normalizeTags(tags)
	if len(tags) == 0 {
		return nil
	}
	return customerdb.New(tx).AddTags(ctx, customerdb.AddTagsParams{TenantID: tenantID, ID: id, Tags: tags})
}

// WeComLibraryChangedTx applies changes of the WeCom corp tag library to the customers who are WeCom
// contacts, inside the caller's transaction: each renamed tag (old name → new) takes its new name, in old
// names' order, and the removed names are taken off. Customers who are not contacts keep their tags: there
// the names are ours. Answers how many changes were made to customers.
func WeComLibraryChangedTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, renamed map[string]string, removed []string) (int64, error) {
	q := customerdb.New(tx)
	var n int64
	for _, old := range slices.Sorted(maps.Keys(renamed)) {
		k, err := q.RenameContactsTag(ctx, customerdb.RenameContactsTagParams{TenantID: tenantID, OldName: old, NewName: renamed[old]})
		if err != nil {
			return n, err
		}
		n += k
	}
	if len(removed) > 0 {
		k, err := q.RemoveContactsTags(ctx, customerdb.RemoveContactsTagsParams{TenantID: tenantID, Names: removed})
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}
