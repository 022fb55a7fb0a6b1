package pool

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/pool/internal/pooldb"
)

// Import limits: one import is one request, read row by row; what it holds at once is bounded by these.
const (
	// MaxImportBytes is the largest CSV file one import takes.
	MaxImportBytes = 2 << 20
	// MaxImportRows is the most data rows one import takes; split larger files.
	MaxImportRows = 5000
	importBatch   = 1000
	maxNameLen    = 64
	maxSourceLen  = 64
	maxTags       = 10
	maxTagLen     = 32
	maxUnionIDLen = 128
)

// ImportReport says what an import did with each row.
type ImportReport struct {
	// Imported rows became new leads in the pool; Merged rows named a known customer (same phone number or
	// unionid), who gained their tags and stays where they are.
	Imported, Merged int
	Rejected         []Rejection
}

// Rejection is a row not imported and why (never the row's phone number).
type Rejection struct {
	// Line is the row's line in the file (the header is line 1).
	Line   int
	Reason string
}

// columns of an import, by header name.
var importColumns = map[string]bool{"name": true, "phone": true, "source": true, "tags": true, "unionid": true}

// Import reads a CSV file of leads (a header row naming columns among name, phone, source, tags, unionid;
// tags separated by ';' or '|') into a pool (admins). Each row needs a valid phone number or a unionid;
// rows repeating an earlier row's phone or unionid are rejected; rows naming a known customer are merged
// into them; the rest become customers nobody owns, waiting in the pool. One transaction: all or nothing.
func (s *Service) Import(ctx context.Context, p authn.Principal, poolID uuid.UUID, file io.Reader) (ImportReport, error) {
	if err := requireAdmin(p); err != nil {
		return ImportReport{}, err
	}
	rows, lines, rep, err := parseImport(io.LimitReader(file, MaxImportBytes+1))
	if err != nil {
		return ImportReport{}, err
	}
	err = s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		q := pooldb.New(tx)
		if _, err := q.GetPool(ctx, pooldb.GetPoolParams{TenantID: p.TenantID, ID: poolID}); errors.Is(err, pgx.ErrNoRows) {
			return errPoolNotFound
		} else if err != nil {
			return err
		}
		rep.Imported, rep.Merged = 0, 0
		for start := 0; start < len(rows); start += importBatch {
			batch := rows[start:min(start+importBatch, len(rows))]
			outcomes, err := customer.ImportTx(ctx, tx, p.TenantID, batch)
			if err != nil {
				return err
			}
			var fresh []uuid.UUID
			for _, o := range outcomes {
				if o.Merged {
					rep.Merged++
				} else {
					fresh = append(fresh, o.CustomerID)
				}
			}
			rep.Imported += len(fresh)
			if len(fresh) > 0 {
				if err := q.EnterLeads(ctx, pooldb.EnterLeadsParams{TenantID: p.TenantID, CustomerIds: fresh, PoolID: poolID,
					ReleasedBy: uuid.NullUUID{UUID: p.EmployeeID, Valid: true}}); err != nil {
					return err
				}
			}
		}
		return audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.PoolImport, TargetKind: audit.TargetPool, TargetID: poolID,
			After: map[string]int{"rows": lines, "imported": rep.Imported, "merged": rep.Merged, "rejected": len(rep.Rejected)}})
	})
	if err != nil {
		return ImportReport{}, err
	}
	return rep, nil
}

// parseImport reads and checks the rows; it returns the good ones, the number of data rows, and the
// report's rejections.
func parseImport(r io.Reader) ([]customer.Imported, int, ImportReport, error) {
	var rep ImportReport
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, rep, platform.Invalid("csv", "the file is empty; it needs a header row (name, phone, source, tags, unionid)")
	}
	if err != nil {
		return nil, 0, rep, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !importColumns[h] {
			return nil, 0, rep, platform.Invalid("csv", fmt.Sprintf("unknown column %q in the header; use name, phone, source, tags, unionid", h))
		}
		if _, dup := col[h]; dup {
			return nil, 0, rep, platform.Invalid("csv", fmt.Sprintf("column %q appears twice in the header", h))
		}
		col[h] = i
	}
	if _, ok := col["phone"]; !ok {
		if _, ok := col["unionid"]; !ok {
			return nil, 0, rep, platform.Invalid("csv", "the header needs a phone or a unionid column")
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []customer.Imported
	seenPhone, seenUnion := map[string]int{}, map[string]int{}
	n := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, rep, csvError(err)
		}
		n++
		if n > MaxImportRows {
			return nil, 0, rep, platform.Invalid("csv", fmt.Sprintf("more than %d rows; split the file", MaxImportRows))
		}
		line, _ := cr.FieldPos(0)
		reject := func(reason string) { rep.Rejected = append(rep.Rejected, Rejection{Line: line, Reason: reason}) }
		row := customer.Imported{Name: field(rec, "name"), Source: field(rec, "source"), UnionID: field(rec, "unionid")}
		raw := field(rec, "phone")
		phone, ok := normalizePhone(raw)
		for _, t := range strings.FieldsFunc(field(rec, "tags"), func(r rune) bool { return r == ';' || r == '|' }) {
			if t = strings.TrimSpace(t); t != "" {
				row.Tags = append(row.Tags, t)
			}
		}
		switch {
		case raw != "" && !ok:
			reject("phone: not a phone number (11-digit mobile, or + and 7 to 15 digits)")
			continue
		case phone == "" && row.UnionID == "":
			reject("no phone number or unionid")
			continue
		case utf8.RuneCountInString(row.Name) > maxNameLen:
			reject(fmt.Sprintf("name: longer than %d characters", maxNameLen))
			continue
		case utf8.RuneCountInString(row.Source) > maxSourceLen:
			reject(fmt.Sprintf("source: longer than %d characters", maxSourceLen))
			continue
		case len(row.UnionID) > maxUnionIDLen:
			reject(fmt.Sprintf("unionid: longer than %d characters", maxUnionIDLen))
			continue
		case len(row.Tags) > maxTags:
			reject(fmt.Sprintf("tags: more than %d", maxTags))
			continue
		}
		if long := longTag(row.Tags); long {
			reject(fmt.Sprintf("tags: a tag longer than %d characters", maxTagLen))
			continue
		}
		row.Phone = phone
		if first, dup := seenPhone[phone]; dup && phone != "" {
			reject(fmt.Sprintf("the same phone number as line %d", first))
			continue
		}
		if first, dup := seenUnion[row.UnionID]; dup && row.UnionID != "" {
			reject(fmt.Sprintf("the same unionid as line %d", first))
			continue
		}
		if phone != "" {
			seenPhone[phone] = line
		}
		if row.UnionID != "" {
			seenUnion[row.UnionID] = line
		}
		rows = append(rows, row)
	}
	return rows, n, rep, nil
}

func longTag(tags []string) bool {
	for _, t := range tags {
		if utf8.RuneCountInString(t) > maxTagLen {
			return true
		}
	}
	return false
}

// csvError says what is wrong with the file, with its line (the parser's message holds no field value).
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return platform.Invalid("csv", fmt.Sprintf("line %d: %v", pe.Line, pe.Err))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return platform.Invalid("csv", "the file ends inside a quoted field")
	}
	return platform.Invalid("csv", "not a CSV file")
}

// normalizePhone keeps digits (and a leading +) and checks the shape: a mainland mobile number (11 digits
// starting with 1, a +86 or 86 prefix dropped), or + and 7 to 15 digits. Spaces, dashes and brackets are
// dropped. ok is false for anything else; "" is ok (no phone).
func normalizePhone(raw string) (string, bool) {
	if raw == "" {
		return "", true
	}
	var b strings.Builder
	for i, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	p := b.String()
	if strings.HasPrefix(p, "+86") && len(p) == 14 {
		p = p[3:]
	} else if strings.HasPrefix(p, "86") && len(p) == 13 {
		p = p[2:]
	}
	if strings.HasPrefix(p, "+") {
		if len(p) >= 8 && len(p) <= 16 {
			return p, true
		}
		return "", false
	}
	if len(p) == 11 && p[0] == '1' {
		return p, true
	}
	return "", false
}
