// Package followup is the rule of a salesperson's follow-up list for today (issue 15), shared by the
// server (backend/stats reads the candidates with SQL) and the reference sync client (sync/replica reads
// them from the device's copy, so the list works offline): the thresholds, which candidates make the
// list and in what order, and what each entry says.
package followup

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Kind is why a customer is on the list.
type Kind string

// The kinds, in the order the list gives them.
const (
	// Due: the latest follow-up note's next step is due today or overdue.
	Due Kind = "due"
	// Hot: active lately with a high intent score.
	Hot Kind = "hot"
	// Cold: was hot, silent for days.
	Cold Kind = "cold"
)

// The list's thresholds.
const (
	// DueWindow is how far back an overdue follow-up is still listed.
	DueWindow = 30 * 24 * time.Hour
	// HotIntent is the intent score from which a recently active customer is hot.
	HotIntent = 30
	// HotRecent is how recently a hot customer was active.
	HotRecent = 3 * 24 * time.Hour
	// ColdIntent is the intent score from which a silent customer is going cold.
	ColdIntent = 40
	// ColdAfter is how long a hot customer has been silent to be going cold.
	ColdAfter = 7 * 24 * time.Hour
	// ColdFloor is how long ago a cold customer was last active at most (older ones are gone cold).
	ColdFloor = 60 * 24 * time.Hour
	// ReadingWindow is how far back a reason's reading looks.
	ReadingWindow = 7 * 24 * time.Hour

	// MaxDue, MaxHot and MaxCold bound each part of the list. A part's candidates are read with room
	// for those already listed by an earlier part (Candidates).
	MaxDue, MaxHot, MaxCold = 50, 20, 20
)

// Candidates is how many candidates to read for each part: enough that the customers an earlier part
// already listed leave the part full.
func Candidates(k Kind) int {
	switch k {
	case Hot:
		return MaxHot + MaxDue
	case Cold:
		return MaxCold + MaxDue
	}
	return MaxDue
}

// EndOfToday is the end of now's day, in now's location (the tenant's time zone): the due part lists
// next steps before it.
func EndOfToday(now time.Time) time.Time { return startOfToday(now).AddDate(0, 0, 1) }

func startOfToday(now time.Time) time.Time {
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
}

// Candidate is a customer one part of the list found. The parts find them so:
//   - due: per customer of the owner, their latest follow-up note (by creation; by its author, the
//     owner), if its next step is from now − DueWindow to before EndOfToday; earliest next step first,
//     then by customer id;
//   - hot: the owner's customers active since now − HotRecent;
//   - cold: the owner's customers, not won or lost, with intent at least ColdIntent, last active from
//     now − ColdFloor to before now − ColdAfter;
//     both hottest first (intent, then the latest active, then by customer id).
type Candidate struct {
	CustomerID uuid.UUID
	Name       string
	Intent     int32
	LastActive time.Time
	// DueAt is the follow-up's next step (due candidates only).
	DueAt time.Time
}

// Entry is one entry of the list.
type Entry struct {
	Kind Kind
	Candidate
	// Reason says why, for people: "read 《Pricing》 3 times in the last 7 days, 4 min in total".
	Reason string
	// Suggested is a material to send them (Suggest), if any.
	Suggested *Material
}

// Pick makes the list from each part's candidates, in the parts' order: a customer is listed once,
// under the first part that names them; hot candidates below HotIntent are left out; each part lists
// at most its maximum.
func Pick(now time.Time, due, hot, cold []Candidate) []Entry {
	var out []Entry
	seen := map[uuid.UUID]bool{}
	for _, part := range []struct {
		kind Kind
		cs   []Candidate
		max  int
	}{{Due, due, MaxDue}, {Hot, hot, MaxHot}, {Cold, cold, MaxCold}} {
		n := 0
		for _, c := range part.cs {
			if seen[c.CustomerID] || n == part.max || (part.kind == Hot && c.Intent < HotIntent) {
				continue
			}
			seen[c.CustomerID] = true
			n++
			e := Entry{Kind: part.kind, Candidate: c}
			switch part.kind {
			case Due:
				at := c.DueAt.In(now.Location())
				if at.Before(startOfToday(now)) {
					e.Reason = fmt.Sprintf("follow-up overdue since %s", at.Format("Jan 2 15:04"))
				} else {
					e.Reason = fmt.Sprintf("follow-up due today at %s", at.Format("15:04"))
				}
			case Cold:
				days := int(now.Sub(c.LastActive) / (24 * time.Hour))
				e.Reason = fmt.Sprintf("was hot (intent %d), silent for %d days", c.Intent, days)
			}
			out = append(out, e)
		}
	}
	return out
}

// Reading is what a customer read since now − ReadingWindow: the material they viewed most (then the
// one read longest, then by material id), how often, and how long in total.
type Reading struct {
	Title   string
	Views   int32
	DwellMs int64
}

// Explain completes the reasons: what the customer read lately, for due and hot entries, and for an
// entry with no reason yet, how lately and how hot they were.
func Explain(now time.Time, list []Entry, read map[uuid.UUID]Reading) {
	for i := range list {
		e := &list[i]
		if r, ok := read[e.CustomerID]; ok && e.Kind != Cold {
			what := fmt.Sprintf("read 《%s》 %s in the last 7 days, %s in total", r.Title, times(r.Views), minutes(r.DwellMs))
			if e.Reason == "" {
				e.Reason = what
			} else {
				e.Reason += "; " + what
			}
		}
		if e.Reason == "" {
			e.Reason = fmt.Sprintf("active %s ago, intent %d", ago(now.Sub(e.LastActive)), e.Intent)
		}
	}
}

func times(n int32) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func minutes(ms int64) string {
	if ms < 60_000 {
		return fmt.Sprintf("%d s", ms/1000)
	}
	return fmt.Sprintf("%d min", (ms+30_000)/60_000)
}

func ago(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// Material is one the list may suggest: published, of the enterprise or platform tier.
type Material struct {
	ID    uuid.UUID
	Title string
	Tags  []string
}

// Suggest picks the material to send a customer: among the materials they have not viewed, the one
// sharing the most tags with the materials they have viewed (read: those materials' tags). materials
// come in the order that breaks ties: the server's list puts the most shared first, the reference
// client (which does not hold share counts) the latest published first; both then by id. Nil when
// every material has been viewed.
func Suggest(materials []Material, read map[string]bool, viewed map[uuid.UUID]bool) *Material {
	var best *Material
	most := -1
	for i := range materials {
		m := &materials[i]
		if viewed[m.ID] {
			continue
		}
		n := 0
		for _, t := range m.Tags {
			if read[t] {
				n++
			}
		}
		if n > most {
			best, most = m, n
		}
	}
	return best
}
