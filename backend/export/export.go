// Package export makes files of customers for people to take away: the customers the requester may see
// (a salesperson their own, a manager their team's, an admin the tenant's), phones masked as the app shows
// them, as CSV (UTF-8 with a byte-order mark, so that Excel reads Chinese names) or xlsx. A request is
// recorded (and audited) in one transaction with the River job that makes the file; the file waits in
// object storage for a day behind a short-lived download link.
package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/xuri/excelize/v2"

	"github.com/salesapp/scrm/backend/audit"
	"github.com/salesapp/scrm/backend/customer"
	"github.com/salesapp/scrm/backend/export/internal/exportdb"
	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/platform/jobs"
	"github.com/salesapp/scrm/media"
)

// Format is a file format.
type Format string

// The formats.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// Status is where an export stands.
type Status string

// The statuses.
const (
	Pending Status = "pending"
	Done    Status = "done"
	Failed  Status = "failed"
)

// MaxRows bounds one file: past it the export fails and says to filter.
const MaxRows = 200_000

// linkTTL is how long a download link works.
const linkTTL = 10 * time.Minute

// Export is one request and, once made, its file.
type Export struct {
	ID        uuid.UUID
	Format    Format
	Stage     customer.Stage
	Status    Status
	Rows      int
	Error     string
	CreatedAt time.Time
	ExpiresAt time.Time
	// URL downloads the file while Status is Done (valid for a few minutes; ask again for a new one).
	URL string
}

// Service makes exports.
type Service struct {
	db        *platform.DB
	store     *media.Store
	customers *customer.Service
	jobs      jobs.Inserter
}

// NewService builds the service.
func NewService(db *platform.DB, store *media.Store, customers *customer.Service, q jobs.Inserter) *Service {
	return &Service{db: db, store: store, customers: customers, jobs: q}
}

// Create asks for a file of the customers the caller may see, optionally at one stage.
func (s *Service) Create(ctx context.Context, p authn.Principal, f Format, stage customer.Stage) (Export, error) {
	if f != CSV && f != XLSX {
		return Export{}, platform.Invalid("format", "csv or xlsx")
	}
	if stage != "" && !stage.Valid() {
		return Export{}, platform.Invalid("stage", "unknown stage")
	}
	id := uuid.Must(uuid.NewV7())
	err := s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
		if err := exportdb.New(tx).InsertExport(ctx, exportdb.InsertExportParams{TenantID: p.TenantID, ID: id, RequestedBy: p.EmployeeID,
			Format: string(f), Stage: string(stage)}); err != nil {
			return err
		}
		if err := audit.RecordTx(ctx, tx, p.TenantID, audit.Entry{Action: audit.CustomerExport, TargetKind: audit.TargetExport, TargetID: id,
			After: map[string]string{"format": string(f), "stage": string(stage)}}); err != nil {
			return err
		}
		return s.jobs.InsertTx(ctx, tx, Args{TenantID: p.TenantID, ExportID: id}, nil)
	})
	if err != nil {
		return Export{}, err
	}
	return s.Get(ctx, p, id)
}

// Get says where an export stands, with a fresh download link once it is made. Only the requester sees
// their exports; anyone else's is NotFound.
func (s *Service) Get(ctx context.Context, p authn.Principal, id uuid.UUID) (Export, error) {
	var row exportdb.GetExportRow
	err := s.db.InTenantSnapshot(ctx, p.TenantID, func(tx pgx.Tx) error {
		var err error
		row, err = exportdb.New(tx).GetExport(ctx, exportdb.GetExportParams{TenantID: p.TenantID, ID: id})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.RequestedBy != p.EmployeeID) {
		return Export{}, platform.NotFound("export")
	}
	if err != nil {
		return Export{}, err
	}
	e := Export{ID: row.ID, Format: Format(row.Format), Stage: customer.Stage(row.Stage), Status: Status(row.Status), Rows: int(row.RowCount),
		Error: row.Error, CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt}
	if e.Status == Done {
		name := fmt.Sprintf("customers-%s.%s", row.CreatedAt.Format("20060102-1504"), row.Format)
		if e.URL, err = s.store.PresignDownload(ctx, p.TenantID, row.ObjectKey, linkTTL, name); err != nil {
			return Export{}, err
		}
	}
	return e, nil
}

// Args is the job that makes an export's file.
type Args struct {
	TenantID uuid.UUID `json:"tenant_id"`
	ExportID uuid.UUID `json:"export_id"`
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return "customer_export" }

// InsertOpts: a failed attempt is retried a few times, then the export says it failed.
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// Worker makes export files.
type Worker struct {
	river.WorkerDefaults[Args]
	s *Service
}

// Worker returns the job's worker.
func (s *Service) Worker() *Worker { return &Worker{s: s} }

// Work makes the file: the customers the requester may see now, as they see them.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	s, a := w.s, job.Args
	var row exportdb.GetExportRow
	var who exportdb.RequesterRow
	err := s.db.InTenantSnapshot(ctx, a.TenantID, func(tx pgx.Tx) error {
		q := exportdb.New(tx)
		var err error
		if row, err = q.GetExport(ctx, exportdb.GetExportParams{TenantID: a.TenantID, ID: a.ExportID}); err != nil {
			return err
		}
		who, err = q.Requester(ctx, exportdb.RequesterParams{TenantID: a.TenantID, ID: row.RequestedBy})
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // purged, or its requester is gone
	}
	if err != nil {
		return err
	}
	if Status(row.Status) != Pending {
		return nil // made already (a retried job)
	}
	if who.Status != "active" {
		return s.finish(ctx, a, Failed, 0, "", "the requester has been disabled")
	}
	p := authn.Principal{TenantID: a.TenantID, EmployeeID: row.RequestedBy, Role: authn.Role(who.Role), TeamID: who.TeamID.UUID, Leads: who.Leads}
	body, n, err := s.render(ctx, p, Format(row.Format), customer.Stage(row.Stage))
	var tooMany *tooManyRows
	if errors.As(err, &tooMany) {
		return s.finish(ctx, a, Failed, 0, "", tooMany.Error())
	}
	if err != nil {
		if job.Attempt >= job.MaxAttempts {
			return errors.Join(err, s.finish(ctx, a, Failed, 0, "", "the file could not be made: ask again"))
		}
		return err
	}
	key := media.TenantKey(a.TenantID, "export", row.Format)
	ct := "text/csv; charset=utf-8"
	if Format(row.Format) == XLSX {
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	if err := s.store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), ct); err != nil {
		return err
	}
	return s.finish(ctx, a, Done, n, key, "")
}

func (s *Service) finish(ctx context.Context, a Args, st Status, n int, key, msg string) error {
	return s.db.InTenantTx(ctx, a.TenantID, func(tx pgx.Tx) error {
		return exportdb.New(tx).FinishExport(ctx, exportdb.FinishExportParams{TenantID: a.TenantID, ID: a.ExportID, Status: string(st),
			RowCount: int32(n), ObjectKey: key, Error: msg})
	})
}

type tooManyRows struct{}

func (*tooManyRows) Error() string {
	return fmt.Sprintf("more than %d customers: filter by stage to export fewer", MaxRows)
}

// header is the file's first row.
var header = []string{"客户 Customer", "电话 Phone", "阶段 Stage", "来源 Source", "标签 Tags", "备注 Remark", "浏览 Views",
	"阅读时长(秒) Dwell (s)", "意向分 Intent", "归属 Owner", "最近活跃 Last active", "首次访问 First seen"}

// render pages through the customers p may see and writes them in format f.
func (s *Service) render(ctx context.Context, p authn.Principal, f Format, stage customer.Stage) ([]byte, int, error) {
	var rows [][]string
	token := ""
	for {
		page, next, err := s.customers.List(ctx, p, customer.Filter{Sort: customer.SortNewest, Stage: stage, PageSize: 500, PageToken: token})
		if err != nil {
			return nil, 0, err
		}
		for _, c := range page {
			rows = append(rows, line(c, p))
		}
		if len(rows) > MaxRows {
			return nil, 0, &tooManyRows{}
		}
		if next == "" {
			break
		}
		token = next
	}
	var buf bytes.Buffer
	switch f {
	case XLSX:
		if err := writeXLSX(&buf, rows); err != nil {
			return nil, 0, err
		}
	default:
		buf.WriteString("\uFEFF")
		w := csv.NewWriter(&buf)
		if err := w.Write(header); err != nil {
			return nil, 0, err
		}
		if err := w.WriteAll(rows); err != nil {
			return nil, 0, err
		}
	}
	return buf.Bytes(), len(rows), nil
}

// line is one customer as the requester may see them: another salesperson's customer's phone masked, as
// in the app.
func line(c customer.Customer, p authn.Principal) []string {
	phone := c.Phone
	if phone != "" && !(c.OwnerID.Valid && c.OwnerID.UUID == p.EmployeeID) {
		phone = customer.MaskPhone(phone)
	}
	owner := ""
	if c.OwnerID.Valid {
		owner = c.OwnerID.UUID.String()
	}
	tags := ""
	for i, t := range c.Tags {
		if i > 0 {
			tags += ", "
		}
		tags += t
	}
	return []string{safeCell(c.DisplayName), phone, string(c.Stage), string(c.SourceChannel), safeCell(tags), safeCell(c.Remark),
		fmt.Sprint(c.Views), fmt.Sprint(c.DwellMs / 1000), fmt.Sprint(c.IntentScore), owner,
		c.LastActiveAt.UTC().Format(time.RFC3339), c.CreatedAt.UTC().Format(time.RFC3339)}
}

// safeCell keeps a cell from being read as a formula by a spreadsheet (CSV injection): text that starts
// with = + - @ or a tab gets a leading apostrophe.
func safeCell(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}

func writeXLSX(buf *bytes.Buffer, rows [][]string) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Customers"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	write := func(i int, cells []string) error {
		vals := make([]any, len(cells))
		for j, c := range cells {
			vals[j] = c
		}
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, vals)
	}
	if err := write(0, header); err != nil {
		return err
	}
	for i, r := range rows {
		if err := write(i+1, r); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(buf)
}

// PurgeArgs is the hourly job that deletes expired exports and their files.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "export_purge" }

// PurgeWorker runs PurgeArgs.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	s *Service
}

// PurgeWorker returns the purge's worker.
func (s *Service) PurgeWorker() *PurgeWorker { return &PurgeWorker{s: s} }

// Work deletes the expired exports and, in the same commit, queues the deletion of their files.
func (w *PurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	return pgx.BeginFunc(ctx, w.s.db.Pool, func(tx pgx.Tx) error {
		keys, err := exportdb.New(tx).PurgeExports(ctx)
		if err != nil {
			return err
		}
		var objects []string
		for _, k := range keys {
			if k != "" {
				objects = append(objects, k)
			}
		}
		if len(objects) == 0 {
			return nil
		}
		return media.Deleter{Jobs: w.s.jobs}.DeleteObjects(ctx, tx, objects)
	})
}
