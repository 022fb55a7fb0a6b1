package wecomtest

import (
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// AddCorpTags adds a group of the tag library with tags of the names given and returns it with the ids the
// server made.
func (s *Server) AddCorpTags(groupName string, tagNames ...string) wecomapi.TagGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &wecomapi.TagGroup{GroupID: s.nextID("etgroup"), GroupName: groupName, CreateTime: s.clock.Unix()}
	for _, n := range tagNames {
		g.Tags = append(g.Tags, wecomapi.Tag{ID: s.nextID("ettag"), Name: n, CreateTime: s.clock.Unix()})
	}
	s.groups = append(s.groups, g)
	return cloneGroup(g)
}

// CorpTags returns the tag library.
func (s *Server) CorpTags() []wecomapi.TagGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]wecomapi.TagGroup, len(s.groups))
	for i, g := range s.groups {
		out[i] = cloneGroup(g)
	}
	return out
}

// RenameCorpTag renames a tag of the library, as an admin does in WeCom's console (WeCom then sends a
// change_external_tag update event: TagChangeEvent). False when there is no such tag.
func (s *Server) RenameCorpTag(id, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, t := s.findTag(id)
	if t != nil {
		t.Name = name
	}
	return t != nil
}

// DeleteCorpTag deletes a tag of the library, as an admin does in WeCom's console: WeCom takes it off every
// contact too (and then sends a change_external_tag delete event: TagChangeEvent).
func (s *Server) DeleteCorpTag(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		g.Tags = slices.DeleteFunc(g.Tags, func(t wecomapi.Tag) bool { return t.ID == id })
	}
	for _, ct := range s.contacts {
		for i := range ct.follows {
			ct.follows[i].TagIDs = slices.DeleteFunc(ct.follows[i].TagIDs, func(t string) bool { return t == id })
		}
	}
}

func cloneGroup(g *wecomapi.TagGroup) wecomapi.TagGroup {
	c := *g
	c.Tags = slices.Clone(g.Tags)
	return c
}

func (s *Server) findTag(id string) (*wecomapi.TagGroup, *wecomapi.Tag) {
	for _, g := range s.groups {
		for i := range g.Tags {
			if g.Tags[i].ID == id {
				return g, &g.Tags[i]
			}
		}
	}
	return nil, nil
}

func (s *Server) getCorpTagList(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TagID   []string `json:"tag_id"`
		GroupID []string `json:"group_id"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	out := []wecomapi.TagGroup{}
	for _, g := range s.groups {
		switch {
		case len(in.TagID) == 0 && len(in.GroupID) == 0, slices.Contains(in.GroupID, g.GroupID):
			out = append(out, cloneGroup(g))
		default:
			c := *g
			c.Tags = slices.DeleteFunc(slices.Clone(g.Tags), func(t wecomapi.Tag) bool { return !slices.Contains(in.TagID, t.ID) })
			if len(c.Tags) > 0 {
				out = append(out, c)
			}
		}
	}
	answerOK(w, map[string]any{"tag_group": out})
}

func (s *Server) addCorpTag(w http.ResponseWriter, r *http.Request) {
	var in struct {
		GroupID   string            `json:"group_id"`
		GroupName string            `json:"group_name"`
		Order     uint32            `json:"order"`
		Tag       []wecomapi.NewTag `json:"tag"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if len(in.Tag) == 0 {
		writeErrcode(w, CodeInvalidParameter, "tag list empty")
		return
	}
	var g *wecomapi.TagGroup
	for _, x := range s.groups {
		if in.GroupID != "" && x.GroupID == in.GroupID || in.GroupID == "" && x.GroupName == in.GroupName {
			g = x
		}
	}
	switch {
	case g == nil && in.GroupID != "":
		writeErrcode(w, CodeInvalidTagID, "invalid group_id")
		return
	case g == nil && (in.GroupName == "" || utf8.RuneCountInString(in.GroupName) > wecomapi.MaxTagNameChars):
		writeErrcode(w, CodeInvalidParameter, "invalid group_name")
		return
	}
	for _, t := range in.Tag {
		if t.Name == "" || utf8.RuneCountInString(t.Name) > wecomapi.MaxTagNameChars {
			writeErrcode(w, CodeInvalidParameter, "invalid tag name")
			return
		}
		if g != nil && slices.ContainsFunc(g.Tags, func(x wecomapi.Tag) bool { return x.Name == t.Name }) {
			writeErrcode(w, CodeTagNameExists, "tag name exists")
			return
		}
	}
	if g == nil {
		g = &wecomapi.TagGroup{GroupID: s.nextID("etgroup"), GroupName: in.GroupName, Order: in.Order, CreateTime: s.clock.Unix()}
		s.groups = append(s.groups, g)
	}
	added := *g
	added.Tags = nil
	for _, t := range in.Tag {
		tag := wecomapi.Tag{ID: s.nextID("ettag"), Name: t.Name, Order: t.Order, CreateTime: s.clock.Unix()}
		g.Tags = append(g.Tags, tag)
		added.Tags = append(added.Tags, tag)
	}
	answerOK(w, map[string]any{"tag_group": added})
}

func (s *Server) editCorpTag(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID    string  `json:"id"`
		Name  string  `json:"name"`
		Order *uint32 `json:"order"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if utf8.RuneCountInString(in.Name) > wecomapi.MaxTagNameChars {
		writeErrcode(w, CodeInvalidParameter, "invalid name")
		return
	}
	if _, t := s.findTag(in.ID); t != nil {
		if in.Name != "" {
			t.Name = in.Name
		}
		if in.Order != nil {
			t.Order = *in.Order
		}
		answerOK(w, nil)
		return
	}
	for _, g := range s.groups {
		if g.GroupID == in.ID {
			if in.Name != "" {
				g.GroupName = in.Name
			}
			if in.Order != nil {
				g.Order = *in.Order
			}
			answerOK(w, nil)
			return
		}
	}
	writeErrcode(w, CodeInvalidTagID, "invalid tagid")
}

func (s *Server) delCorpTag(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TagID   []string `json:"tag_id"`
		GroupID []string `json:"group_id"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	for _, id := range in.TagID {
		if _, t := s.findTag(id); t == nil {
			writeErrcode(w, CodeInvalidTagID, "invalid tagid")
			return
		}
	}
	for _, g := range s.groups {
		g.Tags = slices.DeleteFunc(g.Tags, func(t wecomapi.Tag) bool { return slices.Contains(in.TagID, t.ID) })
	}
	// A group left without tags goes too, as in WeCom.
	s.groups = slices.DeleteFunc(s.groups, func(g *wecomapi.TagGroup) bool {
		return slices.Contains(in.GroupID, g.GroupID) || len(g.Tags) == 0
	})
	answerOK(w, nil)
}

func (s *Server) markTag(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID         string   `json:"userid"`
		ExternalUserID string   `json:"external_userid"`
		AddTag         []string `json:"add_tag"`
		RemoveTag      []string `json:"remove_tag"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	ct, ok := s.contacts[in.ExternalUserID]
	var f *wecomapi.FollowUser
	if ok {
		f = ct.follow(in.UserID)
	}
	if f == nil {
		writeErrcode(w, wecomapi.CodeNotExternalContact, "not external contact")
		return
	}
	if len(in.AddTag) == 0 && len(in.RemoveTag) == 0 {
		writeErrcode(w, CodeInvalidParameter, "add_tag and remove_tag both empty")
		return
	}
	for _, id := range append(slices.Clone(in.AddTag), in.RemoveTag...) {
		if _, t := s.findTag(id); t == nil {
			writeErrcode(w, CodeInvalidTagID, "invalid tagid")
			return
		}
	}
	for _, id := range in.AddTag {
		if !slices.Contains(f.TagIDs, id) {
			f.TagIDs = append(f.TagIDs, id)
		}
	}
	f.TagIDs = slices.DeleteFunc(f.TagIDs, func(id string) bool { return slices.Contains(in.RemoveTag, id) })
	answerOK(w, nil)
}
