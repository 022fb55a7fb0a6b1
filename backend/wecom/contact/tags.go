package contact

import (
	"context"

	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Corp tags a member put on a customer in WeCom are mirrored onto the customer by name (issue 16, point 6):
// added where the customer lacks them (customer.AddTagsTx, within its limit), never removed here, since the
// customer's tags are also set by channels and by staff. A member's personal tags stay theirs.

// corpTagNames names the corp tags of a follow: from the tags externalcontact/get gives with their names,
// else from the ids batch/get_by_user gives, through names (the library by id).
func corpTagNames(f wecomapi.FollowUser, names map[string]string) []string {
	var out []string
	for _, t := range f.Tags {
		if t.Type == wecomapi.TagCorp && t.TagName != "" {
			out = append(out, t.TagName)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, id := range f.TagIDs {
		if n := names[id]; n != "" {
			out = append(out, n)
		}
	}
	return out
}

// tagLibrary reads the corp tag library: each tag's name by id.
func tagLibrary(ctx context.Context, c *wecomapi.Client) (map[string]string, error) {
	groups, err := c.CorpTags(ctx, nil, nil)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, g := range groups {
		for _, t := range g.Tags {
			if !t.Deleted {
				names[t.ID] = t.Name
			}
		}
	}
	return names, nil
}
