package wecom

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/salesapp/scrm/backend/platform"
	"github.com/salesapp/scrm/backend/platform/authn"
	"github.com/salesapp/scrm/backend/wecom/wecomapi"
)

// Part names one thing CheckConnection tries.
type Part string

// The parts, in the order they are checked.
const (
	// PartConfig is the stored configuration itself: set at all, and its secrets openable.
	PartConfig Part = "config"
	// PartAppSecret is an access token for the corp id and the self-built app's secret (gettoken).
	PartAppSecret Part = "app_secret"
	// PartAgent is reading the app (agent/get) with that token: the secret is the AgentId's, the app is
	// enabled, and this server's IP is trusted.
	PartAgent Part = "agent"
	// PartContactSecret is an access token for the customer-contact secret and one customer-contact read
	// (the corp tag library): the secret may call 客户联系 APIs from this server's IP.
	PartContactSecret Part = "contact_secret"
)

// Problem says what is wrong with a part, in words a client can switch on; "" when the part works.
type Problem string

// The problems.
const (
	ProblemNone Problem = ""
	// ProblemNotConfigured: nothing stored, or this secret is not set.
	ProblemNotConfigured Problem = "not_configured"
	// ProblemBadCorpID: WeCom does not know the corp id (40013).
	ProblemBadCorpID Problem = "bad_corp_id"
	// ProblemBadSecret: WeCom refuses the secret for the corp id (40001, 40091).
	ProblemBadSecret Problem = "bad_secret"
	// ProblemMissingPermission: the secret may not call the API (48001, 48002, 60011); the message names
	// what to grant.
	ProblemMissingPermission Problem = "missing_permission"
	// ProblemIPNotAllowed: this server's IP is not on the app's trusted IPs (60020); the message names it
	// when WeCom said it.
	ProblemIPNotAllowed Problem = "ip_not_allowed"
	// ProblemAppDisabled: the app is disabled in WeCom's console.
	ProblemAppDisabled Problem = "app_disabled"
	// ProblemRateLimited: WeCom limits our calls now (45009, 45033): check again later.
	ProblemRateLimited Problem = "rate_limited"
	// ProblemSkipped: not tried, because a part it needs failed.
	ProblemSkipped Problem = "skipped"
	// ProblemOther: WeCom could not be reached or answered something else; the message says what.
	ProblemOther Problem = "other"
)

// Check is the result of one part.
type Check struct {
	Part    Part
	OK      bool
	Problem Problem
	// Message says what works or what to do, for an admin; it names no secret.
	Message string
	// ErrCode is WeCom's errcode when WeCom answered one, else 0.
	ErrCode int
}

// Connection is CheckConnection's answer: every part, in order.
type Connection struct {
	// OK is true when every part is.
	OK     bool
	Checks []Check
}

// CheckConnection tries the tenant's configuration against WeCom, part by part (PartConfig, PartAppSecret,
// PartAgent, PartContactSecret), and says of each what is wrong and what to do. It never fails because
// WeCom refused something: that is a check's answer. Admin only. Nothing is logged of the secrets.
func (s *Service) CheckConnection(ctx context.Context, p authn.Principal) (Connection, error) {
	if err := adminOnly(p); err != nil {
		return Connection{}, err
	}
	out := Connection{}
	add := func(c Check) { out.Checks = append(out.Checks, c) }
	var sec Secrets
	var cfgErr error
	if s.sealer == nil {
		cfgErr = ErrOff
	} else {
		cfgErr = s.db.InTenantTx(ctx, p.TenantID, func(tx pgx.Tx) error {
			var err error
			sec, err = s.SecretsTx(ctx, tx, p.TenantID)
			return err
		})
	}
	switch {
	case cfgErr == nil:
		add(Check{Part: PartConfig, OK: true, Message: fmt.Sprintf("corp ID %s, AgentId %d", sec.CorpID, sec.AgentID)})
	case platform.KindOf(cfgErr) == platform.KindNotFound:
		add(Check{Part: PartConfig, Problem: ProblemNotConfigured,
			Message: "WeCom is not configured: set the corp ID, the app's AgentId and Secret and the customer-contact Secret"})
	case platform.KindOf(cfgErr) == platform.KindFailedPrecondition:
		add(Check{Part: PartConfig, Problem: ProblemNotConfigured, Message: cfgErr.Error()})
	default:
		return Connection{}, cfgErr
	}
	if cfgErr != nil {
		for _, part := range []Part{PartAppSecret, PartAgent, PartContactSecret} {
			add(skipped(part, "the configuration is missing"))
		}
		return out, nil
	}

	app := s.checkApp(ctx, sec)
	add(app)
	if app.OK {
		add(s.checkAgent(ctx, sec))
	} else {
		add(skipped(PartAgent, "the app secret failed"))
	}
	add(s.checkContact(ctx, sec))
	out.OK = true
	for _, c := range out.Checks {
		out.OK = out.OK && c.OK
	}
	return out, nil
}

func skipped(part Part, why string) Check {
	return Check{Part: part, Problem: ProblemSkipped, Message: "not checked: " + why}
}

// Where an admin finds each secret in WeCom's console.
const (
	appSecretPlace     = "应用管理 → the app → Secret"
	contactSecretPlace = "客户联系 → API → Secret"
)

func (s *Service) checkApp(ctx context.Context, sec Secrets) Check {
	if sec.AgentSecret == "" {
		return Check{Part: PartAppSecret, Problem: ProblemNotConfigured,
			Message: "the self-built app's Secret is not set: copy it from " + appSecretPlace}
	}
	c, err := s.client(sec, AppAgent)
	if err == nil {
		err = c.CheckToken(ctx)
	}
	if err == nil {
		return Check{Part: PartAppSecret, OK: true, Message: "WeCom accepts the corp ID and the app's Secret"}
	}
	return failed(PartAppSecret, err, "the app's Secret", appSecretPlace, "")
}

func (s *Service) checkAgent(ctx context.Context, sec Secrets) Check {
	c, err := s.client(sec, AppAgent)
	var a wecomapi.Agent
	if err == nil {
		a, err = c.Agent(ctx, sec.AgentID)
	}
	id := strconv.FormatInt(sec.AgentID, 10)
	switch {
	case err == nil && a.Closed:
		return Check{Part: PartAgent, Problem: ProblemAppDisabled,
			Message: "the app " + a.Name + " (AgentId " + id + ") is disabled in WeCom: enable it in 应用管理 → the app"}
	case err == nil:
		return Check{Part: PartAgent, OK: true, Message: "the app " + a.Name + " (AgentId " + id + ") answers"}
	}
	return failed(PartAgent, err, "the app's Secret", appSecretPlace,
		"the Secret is not the one of AgentId "+id+", or the AgentId is wrong: copy both again from 应用管理 → the app")
}

func (s *Service) checkContact(ctx context.Context, sec Secrets) Check {
	if sec.ContactSecret == "" {
		return Check{Part: PartContactSecret, Problem: ProblemNotConfigured,
			Message: "the customer-contact Secret is not set: copy it from " + contactSecretPlace}
	}
	c, err := s.client(sec, AppContact)
	if err == nil {
		_, err = c.CorpTags(ctx, nil, nil)
	}
	if err == nil {
		return Check{Part: PartContactSecret, OK: true, Message: "WeCom accepts the customer-contact Secret and lets it call 客户联系 APIs"}
	}
	return failed(PartContactSecret, err, "the customer-contact Secret", contactSecretPlace,
		"the customer-contact Secret may not call 客户联系 APIs: grant them in 客户联系 → API → 可调用接口的应用, and use the Secret shown there")
}

// failed turns the error of a part into what it means; permission is the message for a missing permission.
func failed(part Part, err error, secretName, secretPlace, permission string) Check {
	c := Check{Part: part, Problem: ProblemOther}
	var we *wecomapi.Error
	if !errors.As(err, &we) {
		var pe *platform.Error
		if errors.As(err, &pe) && pe.Kind != platform.KindInternal {
			c.Message = pe.Msg
		} else {
			c.Message = "WeCom could not be reached or answered something unexpected: " + err.Error()
		}
		return c
	}
	c.ErrCode = we.Code
	switch we.Code {
	case wecomapi.CodeInvalidCorpID:
		c.Problem, c.Message = ProblemBadCorpID, "WeCom does not know this corp ID: copy it again from 我的企业 → 企业信息 → 企业ID"
	case wecomapi.CodeInvalidCredential, wecomapi.CodeInvalidSecret:
		c.Problem, c.Message = ProblemBadSecret, "WeCom refuses "+secretName+" for this corp ID: copy it again from "+secretPlace
	case wecomapi.CodeAPIUnauthorized, wecomapi.CodeAPIForbidden, wecomapi.CodeNoPrivilege:
		c.Problem, c.Message = ProblemMissingPermission, permission
	case wecomapi.CodeIPNotAllowed:
		c.Problem = ProblemIPNotAllowed
		ip := "this server's IP"
		if we.FromIP != "" {
			ip = "this server's IP " + we.FromIP
		}
		c.Message = "WeCom refuses calls from " + ip + ": add it to the app's trusted IPs (应用管理 → the app → 企业可信IP)"
	case wecomapi.CodeFreqLimit, wecomapi.CodeConcurrencyLimit:
		c.Problem, c.Message = ProblemRateLimited, "WeCom is limiting how often we call it: check again in a minute"
	default:
		c.Message = "WeCom answered: " + we.Error()
	}
	return c
}
