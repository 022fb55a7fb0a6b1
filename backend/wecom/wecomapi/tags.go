package wecomapi

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/salesapp/scrm/backend/platform"
)

// MaxTagNameChars bounds a tag's or a tag group's name.
const MaxTagNameChars = 30

// Tag is a tag of the corp tag library (企业客户标签).
type Tag struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// CreateTime is Unix seconds.
	CreateTime int64 `json:"create_time"`
	// Order sorts tags in their group, larger first.
	Order uint32 `json:"order"`
	// Deleted is set only when the tag was asked for by id and has been deleted.
	Deleted bool `json:"deleted"`
}

// TagGroup is a group of the corp tag library with its tags.
type TagGroup struct {
	GroupID    string `json:"group_id"`
	GroupName  string `json:"group_name"`
	CreateTime int64  `json:"create_time"`
	Order      uint32 `json:"order"`
	Deleted    bool   `json:"deleted"`
	Tags       []Tag  `json:"tag"`
}

// CorpTags reads the corp tag library (externalcontact/get_corp_tag_list): everything when both lists are
// empty, else the tags named and the groups named with all their tags.
func (c *Client) CorpTags(ctx context.Context, tagIDs, groupIDs []string) ([]TagGroup, error) {
	in := struct {
		TagID   []string `json:"tag_id,omitempty"`
		GroupID []string `json:"group_id,omitempty"`
	}{tagIDs, groupIDs}
	var out struct {
		TagGroup []TagGroup `json:"tag_group"`
	}
	if err := c.read(ctx, "externalcontact/get_corp_tag_list", in, &out); err != nil {
		return nil, err
	}
	return out.TagGroup, nil
}

// NewTags adds tags to a group of the library: to GroupID when set, else to the group named GroupName,
// which WeCom creates when there is none.
type NewTags struct {
	GroupID   string
	GroupName string
	// Order is the new group's order.
	Order uint32
	Tags  []NewTag
}

// NewTag is a tag to add.
type NewTag struct {
	Name  string `json:"name"`
	Order uint32 `json:"order,omitempty"`
}

func checkTagName(field, name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxTagNameChars || !utf8.ValidString(name) {
		return platform.Invalid(field, fmt.Sprintf("a tag name is 1 to %d characters", MaxTagNameChars))
	}
	return nil
}

// AddCorpTags adds tags (externalcontact/add_corp_tag) and answers their group with the new tags' ids.
// A tag name the group has already answers an error (WeCom's 40071), not a second tag.
func (c *Client) AddCorpTags(ctx context.Context, t NewTags) (TagGroup, error) {
	if t.GroupID == "" {
		if err := checkTagName("group_name", t.GroupName); err != nil {
			return TagGroup{}, err
		}
	}
	if len(t.Tags) == 0 {
		return TagGroup{}, platform.Invalid("tag", "add at least one tag")
	}
	for _, tag := range t.Tags {
		if err := checkTagName("tag", tag.Name); err != nil {
			return TagGroup{}, err
		}
	}
	in := struct {
		GroupID   string   `json:"group_id,omitempty"`
		GroupName string   `json:"group_name,omitempty"`
		Order     uint32   `json:"order,omitempty"`
		Tag       []NewTag `json:"tag"`
	}{t.GroupID, t.GroupName, t.Order, t.Tags}
	var out struct {
		TagGroup TagGroup `json:"tag_group"`
	}
	if err := c.write(ctx, "externalcontact/add_corp_tag", in, &out); err != nil {
		return TagGroup{}, err
	}
	return out.TagGroup, nil
}

// TagEdit renames or reorders a tag or a tag group (by its id); a nil Order leaves the order.
type TagEdit struct {
	ID    string
	Name  string
	Order *uint32
}

// EditCorpTag changes a tag or group (externalcontact/edit_corp_tag).
func (c *Client) EditCorpTag(ctx context.Context, e TagEdit) error {
	if e.ID == "" {
		return platform.Invalid("id", "the tag id is missing")
	}
	if e.Name != "" {
		if err := checkTagName("name", e.Name); err != nil {
			return err
		}
	}
	in := struct {
		ID    string  `json:"id"`
		Name  string  `json:"name,omitempty"`
		Order *uint32 `json:"order,omitempty"`
	}{e.ID, e.Name, e.Order}
	return c.write(ctx, "externalcontact/edit_corp_tag", in, nil)
}

// DeleteCorpTags deletes tags and whole groups (externalcontact/del_corp_tag); a group left empty is deleted
// by WeCom too.
func (c *Client) DeleteCorpTags(ctx context.Context, tagIDs, groupIDs []string) error {
	if len(tagIDs) == 0 && len(groupIDs) == 0 {
		return platform.Invalid("tag_id", "name at least one tag or group to delete")
	}
	in := struct {
		TagID   []string `json:"tag_id,omitempty"`
		GroupID []string `json:"group_id,omitempty"`
	}{tagIDs, groupIDs}
	return c.write(ctx, "externalcontact/del_corp_tag", in, nil)
}

// Marking puts corp tags on, and takes them off, a customer as one member sees them.
type Marking struct {
	UserID         string
	ExternalUserID string
	Add, Remove    []string
}

// MarkTags marks a customer (externalcontact/mark_tag). Adding a tag the customer has, or removing one they
// have not, is no error: a retried job does no harm.
func (c *Client) MarkTags(ctx context.Context, m Marking) error {
	if err := checkUserID("userid", m.UserID); err != nil {
		return err
	}
	if err := checkExternalUserID("external_userid", m.ExternalUserID); err != nil {
		return err
	}
	if len(m.Add) == 0 && len(m.Remove) == 0 {
		return platform.Invalid("add_tag", "add or remove at least one tag")
	}
	in := struct {
		UserID         string   `json:"userid"`
		ExternalUserID string   `json:"external_userid"`
		AddTag         []string `json:"add_tag,omitempty"`
		RemoveTag      []string `json:"remove_tag,omitempty"`
	}{m.UserID, m.ExternalUserID, m.Add, m.Remove}
	return c.write(ctx, "externalcontact/mark_tag", in, nil)
}
