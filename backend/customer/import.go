package customer

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/customer/internal/customerdb"
)

// Imported is one row of a lead import, checked and normalized by the importer: a phone number (E.164-ish,
// digits with an optional leading +) or a unionid, or both.
type Imported struct {
	Name, Phone, UnionID, Source string
	Tags                         []string
}

// ImportOutcome is what became of an imported row: a new customer nobody owns, or a known customer (same
// phone number or unionid) that the row was merged into.
type ImportOutcome struct {
	CustomerID uuid.UUID
	Merged     bool
}

// tagSep joins tags for the set-based statements (a control character no tag holds).
const tagSep = "\x1f"

// ImportTx makes customers of imported rows, inside the caller's transaction, set-based: a row whose phone
// number or unionid a live customer already has is merged into that customer (its tags added, an empty
// name or phone filled, the owner kept); the others become new customers nobody owns, known by their phone
// and unionid from then on. Rows must not repeat a phone or unionid among themselves (the importer rejects
// such repeats). Outcomes are in the rows' order.
func ImportTx(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, rows []Imported) ([]ImportOutcome, error) {
	q := customerdb.New(tx)
	var phones, unions []string
	for _, r := range rows {
		if r.Phone != "" {
			phones = append(phones, r.Phone)
		}
		if r.UnionID != "" {
			unions = append(unions, r.UnionID)
		}
	}
	byPhone := map[string]uuid.UUID{}
	if len(phones) > 0 {
		known, err := q.CustomersByPhone(ctx, customerdb.CustomersByPhoneParams{TenantID: tenantID, Phones: phones})
		if err != nil {
			return nil, err
		}
		for _, k := range known {
			byPhone[k.Phone] = k.ID
		}
		ids, err := q.CustomersByIdentity(ctx, customerdb.CustomersByIdentityParams{TenantID: tenantID, Kind: IdentityPhone, Values: phones})
		if err != nil {
			return nil, err
		}
		for _, k := range ids {
			byPhone[k.Value] = k.CustomerID
		}
	}
	byUnion := map[string]uuid.UUID{}
	if len(unions) > 0 {
		ids, err := q.CustomersByIdentity(ctx, customerdb.CustomersByIdentityParams{TenantID: tenantID, Kind: IdentityUnion, Values: unions})
		if err != nil {
			return nil, err
		}
		for _, k := range ids {
			byUnion[k.Value] = k.CustomerID
		}
	}
	out := make([]ImportOutcome, len(rows))
	var ins customerdb.InsertImportedParams
	var merge customerdb.MergeImportedParams
	idents := customerdb.AddIdentitiesParams{TenantID: tenantID}
	for i, r := range rows {
		known, ok := byUnion[r.UnionID]
		if !ok || r.UnionID == "" {
			known, ok = byPhone[r.Phone]
			ok = ok && r.Phone != ""
		}
		tags := strings.Join(normalizeTags(r.Tags), tagSep)
		if ok {
			out[i] = ImportOutcome{CustomerID: known, Merged: true}
			merge.Ids, merge.Names, merge.Phones, merge.Tags = append(merge.Ids, known), append(merge.Names, r.Name), append(merge.Phones, r.Phone), append(merge.Tags, tags)
			continue
		}
		id := uuid.Must(uuid.NewV7())
		out[i] = ImportOutcome{CustomerID: id}
		remark := ""
		if r.Source != "" {
			remark = "Source: " + r.Source
		}
		ins.Ids, ins.Names, ins.Phones, ins.Remarks, ins.Tags = append(ins.Ids, id), append(ins.Names, r.Name), append(ins.Phones, r.Phone), append(ins.Remarks, remark), append(ins.Tags, tags)
		for _, x := range []Identity{{IdentityPhone, r.Phone}, {IdentityUnion, r.UnionID}} {
			if x.Value != "" {
				idents.Kinds, idents.Values, idents.CustomerIds = append(idents.Kinds, x.Kind), append(idents.Values, x.Value), append(idents.CustomerIds, id)
			}
		}
	}
	if len(merge.Ids) > 0 {
		merge.TenantID = tenantID
		if err := q.MergeImported(ctx, merge); err != nil {
			return nil, err
		}
	}
	if len(ins.Ids) > 0 {
		ins.TenantID = tenantID
		if err := q.InsertImported(ctx, ins); err != nil {
			return nil, err
		}
		if err := q.AddIdentities(ctx, idents); err != nil {
			return nil, err
		}
	}
	return out, nil
}
