package web

import (
	"context"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/salesapp/scrm/backend/platform"
)

// WXConfig is what a page passes to wx.config (the page contract's "wx" field): the official account's app
// id and a signature of the page's URL with the account's JS-SDK ticket.
type WXConfig struct {
	AppID     string `json:"appId"`
	Timestamp int64  `json:"timestamp"`
	NonceStr  string `json:"nonceStr"`
	Signature string `json:"signature"`
}

// WXConfig signs pageURL for the JS-SDK; nil, nil when no official account is configured. Only pages under
// the server's public base URL are signed: a signature lets whoever holds it use the official account's
// JS-SDK on that URL, so the server does not sign arbitrary origins. tenantID names whose page it is: the
// official account is the server's today, and a tenant's own account would be chosen by it.
func (s *Service) WXConfig(ctx context.Context, tenantID uuid.UUID, pageURL string) (*WXConfig, error) {
	if s.official == nil {
		return nil, nil
	}
	if err := s.signin.checkPageURL(pageURL); err != nil {
		return nil, err
	}
	c, err := s.official.SignJSConfig(ctx, pageURL)
	if err != nil {
		return nil, err
	}
	return &WXConfig{AppID: c.AppID, Timestamp: c.Timestamp, NonceStr: c.NonceStr, Signature: c.Signature}, nil
}

// maxPageURL bounds what is signed: a page URL with its query is well under it.
const maxPageURL = 2048

// checkPageURL accepts an absolute URL of a share page under the public base URL.
func (si *signIn) checkPageURL(pageURL string) error {
	if si.base == nil {
		return platform.FailedPrecondition("the server's public base URL is not configured")
	}
	u, err := url.Parse(pageURL)
	switch {
	case err != nil || len(pageURL) > maxPageURL:
		return platform.Invalid("url", "must be the page's absolute URL")
	case u.Scheme != si.base.Scheme || !strings.EqualFold(u.Host, si.base.Host) || u.User != nil:
		return platform.Invalid("url", "must be a page of this server ("+si.base.Scheme+"://"+si.base.Host+")")
	case !strings.HasPrefix(u.EscapedPath(), strings.TrimRight(si.base.EscapedPath(), "/")+"/s/"):
		return platform.Invalid("url", "must be a share page (under /s/)")
	}
	return nil
}
