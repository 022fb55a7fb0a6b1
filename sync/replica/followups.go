package replica

import (
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	salesappv1 "github.com/salesapp/scrm/api/salesapp/v1"
	"github.com/salesapp/scrm/sync/followup"
)

// FollowUps makes the salesperson's follow-up list for today from the device's copy, offline, by the
// rule the server's list follows (sync/followup): follow-ups due today or overdue, then hot customers,
// then customers going cold, among the customers me owns, each with why. now is the time in the
// tenant's time zone (MeService's tenant says which). StatsService.ListFollowUps gives the same list
// online. Each entry suggests a material as the server's does (followup.Suggest), from what the device
// holds: the published enterprise and platform materials, and the customer's views in the timeline's
// 90 days. So where the server's suggestion differs, it is because it breaks a tie by how often each
// material was shared (the device breaks it by the latest published) or knows an older view. A reason
// names a material the device does not hold (one unpublished since) with an empty title.
func (c *Client) FollowUps(me string, now time.Time) []followup.Entry {
	return FollowUps(c.Entities(), me, now)
}

// FollowUps is Client.FollowUps over a replica's entities (Store.Entities).
func FollowUps(entities map[Key]proto.Message, me string, now time.Time) []followup.Entry {
	customers := map[string]*salesappv1.SyncCustomer{}
	var notes []*salesappv1.SyncNote
	var views []*salesappv1.SyncTimelineEntry
	viewed := map[string][]string{} // customer → the materials they viewed
	titles, tags := map[string]string{}, map[string][]string{}
	var sendable []*salesappv1.SyncMaterial
	for _, m := range entities {
		switch v := m.(type) {
		case *salesappv1.SyncCustomer:
			if v.OwnerId == me {
				customers[v.Id] = v
			}
		case *salesappv1.SyncNote:
			notes = append(notes, v)
		case *salesappv1.SyncTimelineEntry:
			if v.Kind == salesappv1.EventKind_EVENT_KIND_MATERIAL_VIEW {
				viewed[v.CustomerId] = append(viewed[v.CustomerId], v.MaterialId)
				if !v.OccurredAt.AsTime().Before(now.Add(-followup.ReadingWindow)) {
					views = append(views, v)
				}
			}
		case *salesappv1.SyncMaterial:
			titles[v.Id], tags[v.Id] = v.Title, v.Tags
			if v.Status == salesappv1.MaterialStatus_MATERIAL_STATUS_PUBLISHED &&
				(v.Tier == salesappv1.MaterialTier_MATERIAL_TIER_ENTERPRISE || v.Tier == salesappv1.MaterialTier_MATERIAL_TIER_PLATFORM) {
				sendable = append(sendable, v)
			}
		}
	}
	candidate := func(c *salesappv1.SyncCustomer) followup.Candidate {
		id, _ := uuid.Parse(c.Id)
		return followup.Candidate{CustomerID: id, Name: c.DisplayName, Intent: c.IntentScore, LastActive: c.LastActiveAt.AsTime()}
	}

	// Due: per customer, the latest follow-up note replaces the ones before it.
	latest := map[string]time.Time{}
	for _, n := range notes {
		if at := n.CreatedAt.AsTime(); n.Kind == "follow_up" && at.After(latest[n.CustomerId]) {
			latest[n.CustomerId] = at
		}
	}
	var due []followup.Candidate
	from, before := now.Add(-followup.DueWindow), followup.EndOfToday(now)
	for _, n := range notes {
		c, ok := customers[n.CustomerId]
		if !ok || n.AuthorId != me || n.NextAt == nil || n.CreatedAt.AsTime().Before(latest[n.CustomerId]) {
			continue
		}
		if next := n.NextAt.AsTime(); !next.Before(from) && next.Before(before) {
			d := candidate(c)
			d.DueAt = next
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b followup.Candidate) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.CustomerID.String(), b.CustomerID.String()))
	})

	// Hot and cold: the hottest first.
	var hot, cold []followup.Candidate
	for _, c := range customers {
		last := c.LastActiveAt.AsTime()
		switch {
		case !last.Before(now.Add(-followup.HotRecent)):
			hot = append(hot, candidate(c))
		case c.IntentScore >= followup.ColdIntent && last.Before(now.Add(-followup.ColdAfter)) &&
			!last.Before(now.Add(-followup.ColdFloor)) && c.Stage != salesappv1.CustomerStage_CUSTOMER_STAGE_WON && c.Stage != salesappv1.CustomerStage_CUSTOMER_STAGE_LOST:
			cold = append(cold, candidate(c))
		}
	}
	hottest := func(a, b followup.Candidate) int {
		return cmp.Or(cmp.Compare(b.Intent, a.Intent), b.LastActive.Compare(a.LastActive), cmp.Compare(a.CustomerID.String(), b.CustomerID.String()))
	}
	slices.SortFunc(hot, hottest)
	slices.SortFunc(cold, hottest)
	list := followup.Pick(now, first(due, followup.Due), first(hot, followup.Hot), first(cold, followup.Cold))

	// What each read lately: their most viewed material, then the one read longest, then by id.
	type read struct {
		material string
		views    int32
		dwell    int64
	}
	byPair := map[[2]string]*read{}
	for _, v := range views {
		k := [2]string{v.CustomerId, v.MaterialId}
		r := byPair[k]
		if r == nil {
			r = &read{material: v.MaterialId}
			byPair[k] = r
		}
		r.views++
		r.dwell += int64(v.DwellMs)
	}
	best := map[string]*read{}
	for k, r := range byPair {
		b := best[k[0]]
		if b == nil || cmp.Or(cmp.Compare(r.views, b.views), cmp.Compare(r.dwell, b.dwell), cmp.Compare(b.material, r.material)) > 0 {
			best[k[0]] = r
		}
	}
	reading := map[uuid.UUID]followup.Reading{}
	for _, e := range list {
		if r := best[e.CustomerID.String()]; r != nil {
			reading[e.CustomerID] = followup.Reading{Title: titles[r.material], Views: r.views, DwellMs: r.dwell}
		}
	}
	followup.Explain(now, list, reading)
	suggest(list, sendable, tags, viewed)
	return list
}

// suggest fills each entry's suggested material (followup.Suggest) from the device's materials, the
// latest published first, and each customer's views (with the tags of every material the device holds).
func suggest(list []followup.Entry, sendable []*salesappv1.SyncMaterial, tags, viewed map[string][]string) {
	slices.SortFunc(sendable, func(a, b *salesappv1.SyncMaterial) int {
		return cmp.Or(b.PublishedAt.AsTime().Compare(a.PublishedAt.AsTime()), cmp.Compare(a.Id, b.Id))
	})
	materials := make([]followup.Material, 0, len(sendable))
	for _, m := range sendable {
		id, err := uuid.Parse(m.Id)
		if err != nil {
			continue
		}
		materials = append(materials, followup.Material{ID: id, Title: m.Title, Tags: m.Tags})
	}
	for i := range list {
		read, seen := map[string]bool{}, map[uuid.UUID]bool{}
		for _, m := range viewed[list[i].CustomerID.String()] {
			if id, err := uuid.Parse(m); err == nil {
				seen[id] = true
			}
			for _, t := range tags[m] {
				read[t] = true
			}
		}
		list[i].Suggested = followup.Suggest(materials, read, seen)
	}
}

// first keeps the candidates a part reads (followup.Candidates).
func first(cs []followup.Candidate, k followup.Kind) []followup.Candidate {
	return cs[:min(len(cs), followup.Candidates(k))]
}
