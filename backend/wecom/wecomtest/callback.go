package wecomtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/salesapp/scrm/backend/wecom/wecomcrypt"
)

// CallbackSender posts callbacks as WeCom does: the message encrypted and signed with the tenant's token
// and EncodingAESKey, and resent when no "success" comes back within Timeout, up to Retries more times,
// RetryInterval apart.
type CallbackSender struct {
	// URL is the tenant's callback URL (…/wecom/{tenant}/callback).
	URL string
	// CorpID is the receive id sealed into each message.
	CorpID string
	// Token and EncodingAESKey are the callback's keys, as set in WeCom's console.
	Token, EncodingAESKey string
	// Client sends the requests (default http.DefaultClient).
	Client *http.Client
	// Timeout is how long one try waits for "success" (WeCom: 5 s; default 5 s).
	Timeout time.Duration
	// Retries is how many times a callback is resent after the first try (WeCom: 3; default 3, -1: none).
	Retries int
	// RetryInterval is the pause before each resend (default 0: at once; tests keep it short).
	RetryInterval time.Duration
}

// SendResult is what sending one callback took.
type SendResult struct {
	// Tries is how many times it was posted.
	Tries int
	// Status and Body are the last answer's.
	Status int
	Body   string
}

// ErrNoSuccess is returned when no try was answered "success".
var ErrNoSuccess = errors.New("wecomtest: no try was answered success")

func (s *CallbackSender) crypter() (*wecomcrypt.Crypter, error) {
	return wecomcrypt.New(s.Token, s.EncodingAESKey)
}

func (s *CallbackSender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return http.DefaultClient
}

func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Seal encrypts msg as WeCom does and returns the query (msg_signature, timestamp, nonce) and the body.
func (s *CallbackSender) Seal(msg []byte) (url.Values, []byte, error) {
	c, err := s.crypter()
	if err != nil {
		return nil, nil, err
	}
	ts, n := strconv.FormatInt(time.Now().Unix(), 10), nonce()
	enc, sig := c.Encrypt(msg, s.CorpID, ts, n)
	var body bytes.Buffer
	body.WriteString("<xml><ToUserName><![CDATA[")
	_ = xml.EscapeText(&body, []byte(s.CorpID))
	body.WriteString("]]></ToUserName><AgentID><![CDATA[]]></AgentID><Encrypt><![CDATA[")
	body.WriteString(enc)
	body.WriteString("]]></Encrypt></xml>")
	return url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {n}}, body.Bytes(), nil
}

// PostRaw posts body with query once and returns the answer.
func (s *CallbackSender) PostRaw(ctx context.Context, query url.Values, body []byte) (int, string, error) {
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"?"+query.Encode(), bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := s.client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// Send posts msg (the plaintext XML of an event) and resends it, encrypted anew each time, until a try
// is answered "success" or the retries run out (ErrNoSuccess).
func (s *CallbackSender) Send(ctx context.Context, msg []byte) (SendResult, error) {
	retries := s.Retries
	switch {
	case retries == 0:
		retries = 3
	case retries < 0:
		retries = 0
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var res SendResult
	for try := 0; try <= retries; try++ {
		if try > 0 && s.RetryInterval > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(s.RetryInterval):
			}
		}
		q, body, err := s.Seal(msg)
		if err != nil {
			return res, err
		}
		tctx, cancel := context.WithTimeout(ctx, timeout)
		status, answer, err := s.PostRaw(tctx, q, body)
		cancel()
		res.Tries++
		res.Status, res.Body = status, answer
		if err == nil && status == http.StatusOK && answer == "success" {
			return res, nil
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	return res, ErrNoSuccess
}

// VerifyURL does what WeCom's console does when the URL is saved: a GET with an encrypted echostr; it
// returns the answer's body, which must be the echostr's plaintext.
func (s *CallbackSender) VerifyURL(ctx context.Context, echo string) (int, string, error) {
	c, err := s.crypter()
	if err != nil {
		return 0, "", err
	}
	ts, n := strconv.FormatInt(time.Now().Unix(), 10), nonce()
	enc, sig := c.Encrypt([]byte(echo), s.CorpID, ts, n)
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {n}, "echostr": {enc}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"?"+q.Encode(), nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := s.client().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// ExternalContactEvent is a change_external_contact event's XML (add_external_contact,
// edit_external_contact, del_external_contact, del_follow_user...), as WeCom sends it.
func ExternalContactEvent(corpID, changeType, userID, externalUserID string, createTime int64, state, welcomeCode string) []byte {
	fields := []string{"UserID", userID, "ExternalUserID", externalUserID}
	if state != "" {
		fields = append(fields, "State", state)
	}
	if welcomeCode != "" {
		fields = append(fields, "WelcomeCode", welcomeCode)
	}
	return systemEvent(corpID, "change_external_contact", changeType, createTime, fields)
}

// ChangeContactEvent is a change_contact event's XML (create_user, update_user, delete_user,
// create_party, update_party, delete_party), as WeCom sends it; fields are name, value pairs (UserID,
// NewUserID, Name, Department as "1,2", MainDepartment, Status; for a department Id, Name, ParentId).
func ChangeContactEvent(corpID, changeType string, createTime int64, fields ...string) []byte {
	return systemEvent(corpID, "change_contact", changeType, createTime, fields)
}

// TagChangeEvent is a change_external_tag event's XML (create, update, delete, shuffle) for a tag (tagType
// "tag") or a group ("tag_group") of the corp tag library, as WeCom sends it.
func TagChangeEvent(corpID, changeType, id, tagType string, createTime int64) []byte {
	return systemEvent(corpID, "change_external_tag", changeType, createTime, []string{"Id", id, "TagType", tagType})
}

// systemEvent is the XML of an event WeCom itself sends (FromUserName sys), fields in name, value pairs.
func systemEvent(corpID, event, changeType string, createTime int64, fields []string) []byte {
	var b bytes.Buffer
	field := func(name, v string) {
		fmt.Fprintf(&b, "<%s><![CDATA[", name)
		b.WriteString(v)
		fmt.Fprintf(&b, "]]></%s>", name)
	}
	b.WriteString("<xml>")
	field("ToUserName", corpID)
	field("FromUserName", "sys")
	fmt.Fprintf(&b, "<CreateTime>%d</CreateTime>", createTime)
	field("MsgType", "event")
	field("Event", event)
	field("ChangeType", changeType)
	for i := 0; i+1 < len(fields); i += 2 {
		field(fields[i], fields[i+1])
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// TextMessage is the plaintext XML of a member's text message to the app (MsgType text, de-duplicated by
// MsgId), as WeCom sends it: a callback no domain processes, for tests and benchmarks of the callback path
// alone.
func TextMessage(corpID, userID string, msgID int64, content string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>", corpID, userID)
	fmt.Fprintf(&b, "<CreateTime>1733390000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>", content)
	fmt.Fprintf(&b, "<MsgId>%d</MsgId><AgentID>1000002</AgentID></xml>", msgID)
	return b.Bytes()
}
