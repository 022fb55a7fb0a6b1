package wecomapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"

	"github.com/salesapp/scrm/backend/platform"
)

// Identity is who a WeCom sign-in code (OAuth in WeCom's browser, or the web SSO QR code) belongs to:
// a member of the corp (UserID) or someone outside it (OpenID, and ExternalUserID when they are a customer).
type Identity struct {
	// UserID is the member's userid; empty for a non-member.
	UserID string `json:"userid"`
	// UserTicket reads the member's sensitive fields (auth/getuserdetail) when the scope allowed it. Secret.
	UserTicket string `json:"user_ticket"`
	// OpenID identifies a non-member.
	OpenID string `json:"openid"`
	// ExternalUserID is the non-member's external userid when they are an external contact of the corp.
	ExternalUserID string `json:"external_userid"`
}

// String leaves the user ticket out, so printing an Identity by mistake leaks nothing.
func (i Identity) String() string {
	return fmt.Sprintf("wecomapi.Identity{UserID:%q OpenID:%q ExternalUserID:%q UserTicket:[redacted]}", i.UserID, i.OpenID, i.ExternalUserID)
}

// LogValue leaves the user ticket out of logs.
func (i Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("userid", i.UserID), slog.String("openid", i.OpenID),
		slog.String("external_userid", i.ExternalUserID))
}

// UserInfoByCode exchanges a sign-in code (auth/getuserinfo) for who signed in. Codes are single-use and
// live five minutes; a refused one is platform.KindUnauthenticated. The client must be the self-built app's.
func (c *Client) UserInfoByCode(ctx context.Context, code string) (Identity, error) {
	if code == "" || len(code) > 512 {
		return Identity{}, platform.Invalid("code", "the WeCom sign-in code is missing or too long")
	}
	var out Identity
	if err := c.get(ctx, "auth/getuserinfo", url.Values{"code": {code}}, &out); err != nil {
		return Identity{}, err
	}
	if out.UserID == "" && out.OpenID == "" {
		return Identity{}, errors.New("wecom auth/getuserinfo: answer without userid or openid")
	}
	return out, nil
}

// Department is one department of the corp's directory.
type Department struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// ParentID is the parent department; the root (usually 1) has 0.
	ParentID int64 `json:"parentid"`
	// Order sorts siblings, larger first.
	Order int64 `json:"order"`
	// Leaders are the userids of the department's leaders.
	Leaders []string `json:"department_leader"`
}

// Departments lists department id and all departments under it (department/list); id 0 lists every
// department the app may see. One call answers the whole tree.
func (c *Client) Departments(ctx context.Context, id int64) ([]Department, error) {
	q := url.Values{}
	if id > 0 {
		q.Set("id", strconv.FormatInt(id, 10))
	}
	var out struct {
		Department []Department `json:"department"`
	}
	if err := c.get(ctx, "department/list", q, &out); err != nil {
		return nil, err
	}
	return out.Department, nil
}

// Member statuses (User.Status).
const (
	UserActive    = 1
	UserDisabled  = 2
	UserNotActive = 4
	UserResigned  = 5
)

// User is a member of the corp.
type User struct {
	UserID string `json:"userid"`
	Name   string `json:"name"`
	// Departments are the ids of the member's departments; MainDepartment is the one they belong to first.
	Departments    []int64 `json:"department"`
	MainDepartment int64   `json:"main_department"`
	Position       string  `json:"position"`
	// Mobile is the member's phone number, given only to apps allowed to read it. Personal: never logged.
	Mobile string `json:"mobile"`
	Email  string `json:"email"`
	Avatar string `json:"avatar"`
	Alias  string `json:"alias"`
	// Status is UserActive, UserDisabled, UserNotActive or UserResigned.
	Status int `json:"status"`
}

// LogValue leaves the phone number and email out of logs.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(slog.String("userid", u.UserID), slog.Int("status", u.Status))
}

// DepartmentUsers lists the members of a department with their details (user/list), and those of its
// sub-departments too when fetchChild. Called on the root with fetchChild it reads the whole directory in
// one call (a few MB for 10,000 members), which is how a full sync scales. WeCom has restricted user/list
// for apps and IPs configured after 2022-08-15; where it refuses, list with UserIDs and read each with User.
func (c *Client) DepartmentUsers(ctx context.Context, departmentID int64, fetchChild bool) ([]User, error) {
	if departmentID <= 0 {
		return nil, platform.Invalid("department_id", "the department id must be positive")
	}
	q := url.Values{"department_id": {strconv.FormatInt(departmentID, 10)}}
	if fetchChild {
		q.Set("fetch_child", "1")
	}
	var out struct {
		UserList []User `json:"userlist"`
	}
	if err := c.get(ctx, "user/list", q, &out); err != nil {
		return nil, err
	}
	return out.UserList, nil
}

// DeptUser is one (member, department) pair; a member in several departments comes once per department.
type DeptUser struct {
	UserID       string `json:"userid"`
	DepartmentID int64  `json:"department"`
}

// UserIDPage is one page of UserIDs.
type UserIDPage struct {
	Users []DeptUser
	// NextCursor continues the listing; empty on the last page.
	NextCursor string
}

// MaxUserIDLimit is the most user/list_id answers per page.
const MaxUserIDLimit = 10000

// UserIDs lists every member id of the corp with their departments (user/list_id), a page of at most limit
// (1…10,000) from cursor ("" for the first page). It works for every app; details come from User.
func (c *Client) UserIDs(ctx context.Context, cursor string, limit int) (UserIDPage, error) {
	if limit < 1 || limit > MaxUserIDLimit {
		return UserIDPage{}, platform.Invalid("limit", "the page size must be 1 to 10000")
	}
	in := struct {
		Cursor string `json:"cursor,omitempty"`
		Limit  int    `json:"limit"`
	}{cursor, limit}
	var out struct {
		NextCursor string     `json:"next_cursor"`
		DeptUser   []DeptUser `json:"dept_user"`
	}
	if err := c.read(ctx, "user/list_id", in, &out); err != nil {
		return UserIDPage{}, err
	}
	return UserIDPage{Users: out.DeptUser, NextCursor: out.NextCursor}, nil
}

// User reads one member (user/get). An unknown userid is platform.KindNotFound.
func (c *Client) User(ctx context.Context, userID string) (User, error) {
	if err := checkUserID("userid", userID); err != nil {
		return User{}, err
	}
	var out User
	if err := c.get(ctx, "user/get", url.Values{"userid": {userID}}, &out); err != nil {
		return User{}, err
	}
	return out, nil
}

// Agent is a self-built app as WeCom describes it.
type Agent struct {
	AgentID int64  `json:"agentid"`
	Name    string `json:"name"`
	// Closed says the app is disabled in the admin console.
	Closed bool
	// The app's visible range: members, departments and tags it may see.
	AllowUserIDs       []string
	AllowDepartmentIDs []int64
	AllowTagIDs        []int64
}

// Agent reads the self-built app (agent/get): a "check connection" sees that the secret is the app's and
// what range it may see. A secret that is not agentID's answers an error (CodeAPIForbidden or 60011).
func (c *Client) Agent(ctx context.Context, agentID int64) (Agent, error) {
	if agentID <= 0 {
		return Agent{}, platform.Invalid("agent_id", "the app's AgentId must be positive")
	}
	var out struct {
		AgentID        int64  `json:"agentid"`
		Name           string `json:"name"`
		Close          int    `json:"close"`
		AllowUserInfos struct {
			User []struct {
				UserID string `json:"userid"`
			} `json:"user"`
		} `json:"allow_userinfos"`
		AllowPartys struct {
			PartyID []int64 `json:"partyid"`
		} `json:"allow_partys"`
		AllowTags struct {
			TagID []int64 `json:"tagid"`
		} `json:"allow_tags"`
	}
	if err := c.get(ctx, "agent/get", url.Values{"agentid": {strconv.FormatInt(agentID, 10)}}, &out); err != nil {
		return Agent{}, err
	}
	a := Agent{AgentID: out.AgentID, Name: out.Name, Closed: out.Close == 1,
		AllowDepartmentIDs: out.AllowPartys.PartyID, AllowTagIDs: out.AllowTags.TagID}
	for _, u := range out.AllowUserInfos.User {
		a.AllowUserIDs = append(a.AllowUserIDs, u.UserID)
	}
	return a, nil
}

// checkUserID refuses an empty or oversized member id before WeCom is asked.
func checkUserID(field, id string) error {
	if id == "" || len(id) > 64 {
		return platform.Invalid(field, "a WeCom userid is 1 to 64 characters")
	}
	return nil
}

// checkExternalUserID refuses an empty or oversized customer id before WeCom is asked.
func checkExternalUserID(field, id string) error {
	if id == "" || len(id) > 64 {
		return platform.Invalid(field, "a WeCom external_userid is 1 to 64 characters")
	}
	return nil
}
