// Package platform holds what every part of the backend shares: configuration, the PostgreSQL pool with
// tenant-scoped transactions and migrations, and the domain error type (errors.go). Mapping errors to
// Connect codes and the request metrics live in platform/rpcserver, the /metrics registry in
// backend/server. It imports no domain.
package platform

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/salesapp/scrm/backend/platform/appversion"
	"github.com/salesapp/scrm/backend/platform/clientip"
	"github.com/salesapp/scrm/backend/platform/sealed"
)

// Config is everything salesd reads from its environment. Every field comes from one SALESD_* variable,
// listed by [ConfigUsage] (and by `salesd -h`).
type Config struct {
	// HTTPAddr is where salesd listens for Connect, gRPC, gRPC-Web, health and metrics.
	HTTPAddr string
	// DatabaseURL connects as the application role, which does not own the tables (row-level security applies).
	DatabaseURL string
	// MigrateDatabaseURL connects as the role that owns the tables; used only to migrate.
	MigrateDatabaseURL string
	// DBMaxConns caps the pool; 0 lets pgx choose.
	DBMaxConns int32
	// JobsDBMaxConns caps the separate pool River's runner works jobs through.
	JobsDBMaxConns int32
	// TokenKeys are 32-byte symmetric keys for access tokens; the first issues, all verify (rotation).
	TokenKeys [][]byte
	// AccessTokenTTL is how long an access token lives.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long a session may go without refreshing before it ends.
	RefreshTokenTTL time.Duration
	// SessionLifetime is how long a session may last from sign-in, however often it refreshes.
	SessionLifetime time.Duration
	// MinAppVersion and MaxAppVersion are the app versions the server accepts (DiagService.GetServerInfo);
	// an empty MaxAppVersion has no upper bound.
	MinAppVersion, MaxAppVersion string
	// AuthCacheTTL is how long a node trusts what it read about a session, employee and tenant.
	AuthCacheTTL time.Duration
	// PublicRate is how many requests per second one client IP may make to public (unauthenticated)
	// procedures, on average; PublicBurst how many at once.
	PublicRate  float64
	PublicBurst int
	// PublicBaseURL is where customers open share links: share URLs are PublicBaseURL + "/s/" + token.
	PublicBaseURL string
	// S3 is the object storage; with no endpoint, salesd runs an embedded S3-compatible store under DataDir.
	S3 S3Config
	// DataDir holds local state of `make run` (the embedded object store).
	DataDir string
	// EmbeddedS3Addr is where the embedded object store listens.
	EmbeddedS3Addr string
	// PosterFont is a TTF/TTC file for names on personalized posters (a CJK font for Chinese names);
	// empty uses Go Regular (Latin only).
	PosterFont string
	// ImageMemoryMiB is how much memory image decodes (thumbnails, poster renders) may take at once on a
	// node; past it they wait, then are refused with ResourceExhausted.
	ImageMemoryMiB int
	// MemoryLimitMiB is the Go heap's soft limit (0: ImageMemoryMiB + 384); see MemoryLimit.
	MemoryLimitMiB int
	// StorageQuotaMiB caps how many MiB of finalized uploads one tenant may keep, below its plan's storage
	// quota (0: the plan's alone).
	StorageQuotaMiB int
	// BeaconOrigins are the H5 page origins allowed to send beacons from browsers (CORS).
	BeaconOrigins []string
	// VisitorRate and VisitorBurst limit tracking requests per visitor id.
	VisitorRate  float64
	VisitorBurst int
	// NewVisitorsPerShare and NewVisitorsPerTenant are how many new visitors (each of whom becomes a
	// customer, alerts and pushes) one share link and one tenant may bring in a minute, per node: with N
	// nodes sharing the traffic, up to N times that cluster-wide. Events of new visitors past it are
	// rejected; known visitors are never refused.
	NewVisitorsPerShare, NewVisitorsPerTenant int
	// NewCustomerPushWindow is how long the pushes of new-visitor alerts to one salesperson collapse into
	// one ("12 more new visitors in the last minute"); 0 pushes each alone.
	NewCustomerPushWindow time.Duration
	// WeChat is the mini-program the customers' pages run in; without an app id, sign-in is unavailable.
	WeChat WeChatConfig
	// Push holds APNs and FCM credentials; without them alerts are logged instead of pushed.
	Push PushConfig
	// PublicPageTTL is how long a share link's page is cached per node.
	PublicPageTTL time.Duration
	// PageHeartbeat is how often a visible share page reports its dwell.
	PageHeartbeat time.Duration
	// PageCacheMiB bounds each node's cache of share page parts.
	PageCacheMiB int
	// PageLookupRate bounds the links not in the page cache each node looks up a second.
	PageLookupRate int
	// HTTPReadTimeout, HTTPWriteTimeout and HTTPIdleTimeout bound an HTTP exchange (the WebSocket excepted).
	HTTPReadTimeout, HTTPWriteTimeout, HTTPIdleTimeout time.Duration
	// RPCTimeout bounds every unary RPC's handling.
	RPCTimeout time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests on SIGTERM.
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
	// LogFormat is json or text.
	LogFormat string
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) there: a loopback address only.
	DebugAddr string
	// OperatorAddr, when set, serves the operator's routes (/readyz, /metrics, gRPC reflection, /healthz)
	// there, apart from the public port.
	OperatorAddr string
	// Dev is an explicit development run (`make run`, tests, benchmarks): with no S3 endpoint salesd starts
	// the embedded object store, and the operator's routes are served on the public port too.
	Dev bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client (limits per address
	// then key on the client, not on the proxy).
	TrustedProxies clientip.Proxies
	// Passwords is how staff passwords are hashed, and how many hashes one process computes at once.
	Passwords PasswordConfig
	// SecretKeys seal the secrets tenants store (their WeCom secrets and callback keys); the first seals,
	// all open (rotation). Empty: nothing can be sealed, so the WeCom bridge is off.
	SecretKeys []sealed.Key
	// WeComCallbackRate and WeComCallbackBurst limit WeCom callbacks per tenant.
	WeComCallbackRate  float64
	WeComCallbackBurst int
	// WeComAPIURL is WeCom's API host (tests point it at wecomtest).
	WeComAPIURL string
}

// PasswordConfig holds the argon2id parameters of new password hashes (a hash records its own, so changing
// them rehashes each password at its next sign-in) and the bound on concurrent hashing.
type PasswordConfig struct {
	// Time is argon2id's number of passes, MemoryKiB its memory in KiB, Threads its lanes.
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
	// Slots is how many hashes may run at once in this process (0: half the cores, at least one);
	// Queue how many sign-ins may wait for a slot before the next is refused with ResourceExhausted.
	Slots int
	Queue int
}

// PushConfig is where the APNs key and the FCM service account are.
type PushConfig struct {
	APNsKeyFile, APNsKeyID, APNsTeamID string
	// APNsHost replaces Apple's hosts (sandbox and production) and APNsCAFile adds the roots its
	// certificate is checked against: an egress proxy, or a fake APNs in tests and benchmarks.
	APNsHost, APNsCAFile             string
	FCMProjectID, FCMCredentialsFile string
}

// WeChatConfig is the mini-program's credentials and where its API is.
type WeChatConfig struct {
	AppID, AppSecret, BaseURL string
	// SharePage is the mini-program's page that opens a share link by the token in its query (welcome
	// messages' mini-program cards).
	SharePage string
	// OfficialAppID and OfficialSecret are the official account's, for H5 pages' web sign-in and JS-SDK.
	OfficialAppID, OfficialSecret string
	// AuthorizeURL is WeChat's web sign-in page (open.weixin.qq.com/connect/oauth2/authorize); tests point
	// it at a fake.
	AuthorizeURL string
}

// S3Config points at S3-compatible object storage.
type S3Config struct {
	Endpoint, AccessKey, SecretKey, Bucket, Region, PublicEndpoint string
	UseSSL                                                         bool
}

type configVar struct {
	name, def, help string
	required        bool
	set             func(c *Config, v string) error
}

var errEmpty = errors.New("must not be empty")

func configVars() []configVar {
	return []configVar{
		{name: "SALESD_HTTP_ADDR", def: ":8080", help: "public listen address (Connect, gRPC, gRPC-Web, the pages, /healthz)",
			set: func(c *Config, v string) error { c.HTTPAddr = v; return nil }},
		{name: "SALESD_OPERATOR_ADDR", help: "listen address of the operator's routes (/readyz, /metrics, gRPC reflection, /healthz), e.g. :9090, kept off the public port; empty: not served (on the public port too under SALESD_DEV)",
			set: func(c *Config, v string) error {
				if v != "" {
					if _, _, err := net.SplitHostPort(v); err != nil {
						return err
					}
				}
				c.OperatorAddr = v
				return nil
			}},
		{name: "SALESD_DEV", def: "false", help: "true (or 1) for a development run: with no SALESD_S3_ENDPOINT the embedded object store starts (it checks no signatures), and the operator's routes are also served on the public port",
			set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(v)
				c.Dev = b
				return err
			}},
		{name: "SALESD_DATABASE_URL", required: true, help: "PostgreSQL URL of the application role (not the table owner; RLS applies); statement_timeout defaults to 60s, a statement_timeout=ms parameter in the URL changes it",
			set: func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
		{name: "SALESD_MIGRATE_DATABASE_URL", help: "PostgreSQL URL of the table owner, for `salesctl migrate` and `salesctl platform-material add` only (never falls back to SALESD_DATABASE_URL: the app role must not own tables)",
			set: func(c *Config, v string) error { c.MigrateDatabaseURL = v; return nil }},
		{name: "SALESD_DB_MAX_CONNS", def: "0", help: "pool size for requests, all opened at start and kept open and warm; 0 lets pgx choose (max(4, cores))",
			set: func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 32)
				if err != nil || n < 0 {
					return errors.New("must be a whole number >= 0")
				}
				c.DBMaxConns = int32(n)
				return nil
			}},
		{name: "SALESD_JOBS_DB_MAX_CONNS", def: "8", help: "size of the separate pool River's runner fetches and completes jobs through (request traffic cannot starve jobs, nor jobs requests)",
			set: func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 32)
				if err != nil || n < 1 {
					return errors.New("must be a whole number >= 1")
				}
				c.JobsDBMaxConns = int32(n)
				return nil
			}},
		{name: "SALESD_TOKEN_KEYS", required: true, help: "comma-separated 64-hex-digit keys; the first signs access tokens, all verify",
			set: func(c *Config, v string) error {
				keys, err := ParseTokenKeys(v)
				c.TokenKeys = keys
				return err
			}},
		{name: "SALESD_ACCESS_TOKEN_TTL", def: "15m", help: "access token lifetime",
			set: func(c *Config, v string) error { return setDuration(&c.AccessTokenTTL, v) }},
		{name: "SALESD_REFRESH_TOKEN_TTL", def: "720h", help: "refresh token lifetime (a session idle this long ends)",
			set: func(c *Config, v string) error { return setDuration(&c.RefreshTokenTTL, v) }},
		{name: "SALESD_SESSION_LIFETIME", def: "2160h", help: "a session's absolute lifetime from sign-in: refreshing never extends it past this (90 days)",
			set: func(c *Config, v string) error { return setDuration(&c.SessionLifetime, v) }},
		{name: "SALESD_MIN_APP_VERSION", def: "0", help: "oldest app version accepted (told to apps before sign-in), e.g. 2.3.0",
			set: func(c *Config, v string) error { return setAppVersion(&c.MinAppVersion, v) }},
		{name: "SALESD_MAX_APP_VERSION", help: "newest app version accepted; empty: no upper bound",
			set: func(c *Config, v string) error { return setAppVersion(&c.MaxAppVersion, v) }},
		{name: "SALESD_AUTH_CACHE_TTL", def: "5s", help: "how long a node caches session/employee/tenant status (a disable takes effect on other nodes within it)",
			set: func(c *Config, v string) error { return setDuration(&c.AuthCacheTTL, v) }},
		{name: "SALESD_PUBLIC_RATE", def: "10", help: "requests/s one client IP may make to public procedures (ResourceExhausted beyond)",
			set: func(c *Config, v string) error { return setPositive(&c.PublicRate, v) }},
		{name: "SALESD_PUBLIC_BURST", def: "20", help: "requests one client IP may make to public procedures at once",
			set: func(c *Config, v string) error { return setCount(&c.PublicBurst, v) }},
		{name: "SALESD_PUBLIC_BASE_URL", def: "http://localhost:8080", help: "base URL of share links (customers open BASE/s/TOKEN) and invitation links (BASE/invite/CODE)",
			set: func(c *Config, v string) error {
				if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
					return errors.New("must start with http:// or https://")
				}
				c.PublicBaseURL = strings.TrimRight(v, "/")
				return nil
			}},
		{name: "SALESD_S3_ENDPOINT", help: "host:port of S3/MinIO; required unless SALESD_DEV, which runs an embedded store under SALESD_DATA_DIR when it is empty",
			set: func(c *Config, v string) error { c.S3.Endpoint = v; return nil }},
		{name: "SALESD_S3_ACCESS_KEY", help: "S3 access key",
			set: func(c *Config, v string) error { c.S3.AccessKey = v; return nil }},
		{name: "SALESD_S3_SECRET_KEY", help: "S3 secret key",
			set: func(c *Config, v string) error { c.S3.SecretKey = v; return nil }},
		{name: "SALESD_S3_BUCKET", def: "salesapp", help: "bucket for every object (created when missing)",
			set: func(c *Config, v string) error { c.S3.Bucket = v; return nil }},
		{name: "SALESD_S3_REGION", def: "us-east-1", help: "bucket region",
			set: func(c *Config, v string) error { c.S3.Region = v; return nil }},
		{name: "SALESD_S3_USE_SSL", def: "false", help: "true to reach SALESD_S3_ENDPOINT over https",
			set: func(c *Config, v string) error {
				b, err := strconv.ParseBool(v)
				c.S3.UseSSL = b
				return err
			}},
		{name: "SALESD_S3_PUBLIC_ENDPOINT", help: "host[:port] (or URL) phones use for presigned URLs, when not SALESD_S3_ENDPOINT",
			set: func(c *Config, v string) error { c.S3.PublicEndpoint = v; return nil }},
		{name: "SALESD_DATA_DIR", def: ".data", help: "local state of development runs (the embedded object store)",
			set: func(c *Config, v string) error { c.DataDir = v; return nil }},
		{name: "SALESD_EMBEDDED_S3_ADDR", def: "127.0.0.1:9000", help: "listen address of the embedded object store",
			set: func(c *Config, v string) error { c.EmbeddedS3Addr = v; return nil }},
		{name: "SALESD_POSTER_FONT", help: "TTF/TTC font for names on posters (e.g. a CJK font); empty: Go Regular, Latin only",
			set: func(c *Config, v string) error { c.PosterFont = v; return nil }},
		{name: "SALESD_IMAGE_MEMORY_MIB", def: "768", help: "MiB image decodes (thumbnails, poster renders) may take at once per node; beyond, requests wait, then get ResourceExhausted",
			set: func(c *Config, v string) error { return setCount(&c.ImageMemoryMiB, v) }},
		{name: "SALESD_MEMORY_LIMIT_MIB", def: "0", help: "soft limit of salesd's heap in MiB, as GOMEMLIMIT (which wins when set): the collector works harder near it instead of letting the heap double; 0: SALESD_IMAGE_MEMORY_MIB + 384",
			set: func(c *Config, v string) error {
				var n uint32
				err := setUint(&n, v, 0, 1<<20)
				c.MemoryLimitMiB = int(n)
				return err
			}},
		{name: "SALESD_STORAGE_QUOTA_MIB", def: "0", help: "cap on the MiB of finalized uploads each tenant may keep, below its plan's storage quota (0: the plan's alone; FinalizeUpload answers ResourceExhausted beyond)",
			set: func(c *Config, v string) error {
				var n uint32
				err := setUint(&n, v, 0, 100<<20)
				c.StorageQuotaMiB = int(n)
				return err
			}},
		{name: "SALESD_PUBLIC_PAGE_TTL", def: "3s", help: "per-node cache of share link pages (an unpublished material vanishes from pages within it)",
			set: func(c *Config, v string) error { return setDuration(&c.PublicPageTTL, v) }},
		{name: "SALESD_PAGE_HEARTBEAT", def: "15s", help: "how often a visible share page reports its dwell (tests shorten it)",
			set: func(c *Config, v string) error { return setDuration(&c.PageHeartbeat, v) }},
		{name: "SALESD_PAGE_CACHE_MIB", def: "64", help: "per-node byte budget of the share pages' cache (cards, materials, links), in MiB",
			set: func(c *Config, v string) error { return setCount(&c.PageCacheMiB, v) }},
		{name: "SALESD_PAGE_LOOKUP_RATE", def: "200", help: "links not in the page cache each node looks up a second (a read each); opens past it wait up to 2 s, then get 503 with Retry-After; cached links are not counted",
			set: func(c *Config, v string) error { return setCount(&c.PageLookupRate, v) }},
		{name: "SALESD_BEACON_ORIGINS", help: "comma-separated H5 origins allowed by CORS to call the public procedures and POST beacons to /t, besides each tenant's page origins, e.g. https://h5.example.com",
			set: func(c *Config, v string) error {
				for _, o := range strings.Split(v, ",") {
					if o = strings.TrimSpace(o); o != "" {
						c.BeaconOrigins = append(c.BeaconOrigins, o)
					}
				}
				return nil
			}},
		{name: "SALESD_VISITOR_RATE", def: "2", help: "tracking requests/s one visitor may make (ResourceExhausted beyond)",
			set: func(c *Config, v string) error { return setPositive(&c.VisitorRate, v) }},
		{name: "SALESD_VISITOR_BURST", def: "30", help: "tracking requests one visitor may make at once",
			set: func(c *Config, v string) error { return setCount(&c.VisitorBurst, v) }},
		{name: "SALESD_NEW_VISITORS_PER_SHARE", def: "120", help: "new visitors (new customers) one share link may bring in a minute, per node; past it their events are rejected (known visitors never are)",
			set: func(c *Config, v string) error { return setCount(&c.NewVisitorsPerShare, v) }},
		{name: "SALESD_NEW_VISITORS_PER_TENANT", def: "1200", help: "new visitors (new customers) one tenant's links may bring in a minute, per node",
			set: func(c *Config, v string) error { return setCount(&c.NewVisitorsPerTenant, v) }},
		{name: "SALESD_NEW_CUSTOMER_PUSH_WINDOW", def: "1m", help: "pushes of new-visitor alerts to one salesperson within it collapse into one (the first at once, the rest summed up at its end); 0 pushes each",
			set: func(c *Config, v string) error { return setDuration(&c.NewCustomerPushWindow, v) }},
		{name: "SALESD_WECHAT_APPID", help: "mini-program app id (customer sign-in and phone numbers); empty disables them",
			set: func(c *Config, v string) error { c.WeChat.AppID = v; return nil }},
		{name: "SALESD_WECHAT_SECRET", help: "mini-program app secret",
			set: func(c *Config, v string) error { c.WeChat.AppSecret = v; return nil }},
		{name: "SALESD_WECHAT_SHARE_PAGE", def: "pages/share/index", help: "the mini-program's page that opens a share link by ?token= (WeCom welcome messages' mini-program cards)",
			set: func(c *Config, v string) error {
				if v == "" || strings.HasPrefix(v, "/") || strings.ContainsAny(v, "?# ") {
					return fmt.Errorf("a page path such as pages/share/index, without a query")
				}
				c.WeChat.SharePage = v
				return nil
			}},
		{name: "SALESD_WECHAT_OA_APPID", help: "official account app id (H5 pages' web sign-in); empty disables it",
			set: func(c *Config, v string) error { c.WeChat.OfficialAppID = v; return nil }},
		{name: "SALESD_WECHAT_OA_SECRET", help: "official account app secret",
			set: func(c *Config, v string) error { c.WeChat.OfficialSecret = v; return nil }},
		{name: "SALESD_WECHAT_BASE_URL", def: "https://api.weixin.qq.com", help: "WeChat API base URL (tests point it at a fake)",
			set: func(c *Config, v string) error { c.WeChat.BaseURL = v; return nil }},
		{name: "SALESD_WECHAT_AUTHORIZE_URL", def: "https://open.weixin.qq.com/connect/oauth2/authorize", help: "WeChat's web sign-in page H5 visitors are sent to (tests point it at a fake)",
			set: func(c *Config, v string) error {
				if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
					return errors.New("must start with http:// or https://")
				}
				c.WeChat.AuthorizeURL = v
				return nil
			}},
		{name: "SALESD_APNS_KEY_FILE", help: "APNs token-auth key (.p8); with SALESD_APNS_KEY_ID and SALESD_APNS_TEAM_ID enables iOS push",
			set: func(c *Config, v string) error { c.Push.APNsKeyFile = v; return nil }},
		{name: "SALESD_APNS_KEY_ID", help: "APNs key id",
			set: func(c *Config, v string) error { c.Push.APNsKeyID = v; return nil }},
		{name: "SALESD_APNS_TEAM_ID", help: "Apple developer team id",
			set: func(c *Config, v string) error { c.Push.APNsTeamID = v; return nil }},
		{name: "SALESD_APNS_HOST", help: "APNs base URL replacing Apple's sandbox and production hosts (an egress proxy; tests and salesbench point it at a fake)",
			set: func(c *Config, v string) error { c.Push.APNsHost = v; return nil }},
		{name: "SALESD_APNS_CA_FILE", help: "PEM certificates trusted for SALESD_APNS_HOST, besides the system's",
			set: func(c *Config, v string) error { c.Push.APNsCAFile = v; return nil }},
		{name: "SALESD_FCM_PROJECT_ID", help: "Firebase project id; with SALESD_FCM_CREDENTIALS_FILE enables Android push",
			set: func(c *Config, v string) error { c.Push.FCMProjectID = v; return nil }},
		{name: "SALESD_FCM_CREDENTIALS_FILE", help: "Firebase service-account JSON",
			set: func(c *Config, v string) error { c.Push.FCMCredentialsFile = v; return nil }},
		{name: "SALESD_ARGON2_TIME", def: "2", help: "argon2id passes of new password hashes",
			set: func(c *Config, v string) error { return setUint(&c.Passwords.Time, v, 1, 64) }},
		{name: "SALESD_ARGON2_MEMORY_KIB", def: "19456", help: "argon2id memory of new password hashes, in KiB (each hash running takes this much)",
			set: func(c *Config, v string) error { return setUint(&c.Passwords.MemoryKiB, v, 8*1024, 4<<20) }},
		{name: "SALESD_ARGON2_THREADS", def: "1", help: "argon2id lanes of new password hashes (each lane can take a core)",
			set: func(c *Config, v string) error {
				var n uint32
				err := setUint(&n, v, 1, 16)
				c.Passwords.Threads = uint8(n)
				return err
			}},
		{name: "SALESD_PASSWORD_HASH_SLOTS", def: "0", help: "password hashes computed at once per process; 0: half the cores, at least 1 (the rest keep serving)",
			set: func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return errors.New("must be a whole number >= 0")
				}
				c.Passwords.Slots = n
				return nil
			}},
		{name: "SALESD_PASSWORD_HASH_QUEUE", def: "32", help: "sign-ins that may wait for a hashing slot; more are refused with ResourceExhausted (retry in 1 s)",
			set: func(c *Config, v string) error { return setCount(&c.Passwords.Queue, v) }},
		{name: "SALESD_HTTP_READ_TIMEOUT", def: "30s", help: "longest time to read a whole request, body included (the WebSocket /ws excepted); 0: none",
			set: func(c *Config, v string) error { return setDuration(&c.HTTPReadTimeout, v) }},
		{name: "SALESD_HTTP_WRITE_TIMEOUT", def: "90s", help: "longest time from a request's headers to the end of its answer (the WebSocket /ws excepted); 0: none",
			set: func(c *Config, v string) error { return setDuration(&c.HTTPWriteTimeout, v) }},
		{name: "SALESD_HTTP_IDLE_TIMEOUT", def: "2m", help: "how long a kept-alive connection may idle between requests",
			set: func(c *Config, v string) error { return setDuration(&c.HTTPIdleTimeout, v) }},
		{name: "SALESD_RPC_TIMEOUT", def: "60s", help: "deadline of each RPC's handling (DeadlineExceeded beyond; a client's shorter deadline wins); 0: none",
			set: func(c *Config, v string) error { return setDuration(&c.RPCTimeout, v) }},
		{name: "SALESD_SHUTDOWN_TIMEOUT", def: "20s", help: "how long SIGTERM waits for in-flight requests",
			set: func(c *Config, v string) error { return setDuration(&c.ShutdownTimeout, v) }},
		{name: "SALESD_LOG_LEVEL", def: "info", help: "debug, info, warn or error",
			set: func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
		{name: "SALESD_TRUSTED_PROXIES", help: "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed (set it behind a load balancer, or its address is every client's); empty: the TCP peer",
			set: func(c *Config, v string) error {
				var err error
				c.TrustedProxies, err = clientip.Parse(v)
				return err
			}},
		{name: "SALESD_DEBUG_ADDR", help: "loopback address serving Go's profiler (/debug/pprof/); empty: off",
			set: func(c *Config, v string) error {
				host, _, err := net.SplitHostPort(v)
				if err != nil {
					return err
				}
				if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
					return errors.New("must be a loopback address (the profiler is not for the network)")
				}
				c.DebugAddr = v
				return nil
			}},
		{name: "SALESD_SECRET_KEYS", help: "comma-separated id:base64 keys of 32 bytes (e.g. k2:...,k1:...) sealing tenants' secrets (WeCom); the first seals, all open, values under older keys are resealed hourly; empty: the WeCom bridge is off (`salesctl dev up` generates one)",
			set: func(c *Config, v string) error {
				keys, err := sealed.ParseKeys(v)
				c.SecretKeys = keys
				return err
			}},
		{name: "SALESD_WECOM_CALLBACK_RATE", def: "200", help: "WeCom callbacks/s one tenant may receive on average (503 beyond; WeCom retries)",
			set: func(c *Config, v string) error { return setPositive(&c.WeComCallbackRate, v) }},
		{name: "SALESD_WECOM_CALLBACK_BURST", def: "1000", help: "WeCom callbacks one tenant may receive at once",
			set: func(c *Config, v string) error { return setCount(&c.WeComCallbackBurst, v) }},
		{name: "SALESD_WECOM_API_URL", def: "https://qyapi.weixin.qq.com", help: "WeCom API base URL (tests point it at a fake)",
			set: func(c *Config, v string) error { c.WeComAPIURL = v; return nil }},
		{name: "SALESD_LOG_FORMAT", def: "json", help: "json or text",
			set: func(c *Config, v string) error {
				if v != "json" && v != "text" {
					return errors.New("must be json or text")
				}
				c.LogFormat = v
				return nil
			}},
	}
}

func setPositive(dst *float64, v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return errors.New("must be a positive number")
	}
	*dst = f
	return nil
}

// MemoryLimit is the heap's soft limit in bytes: room for the image decodes' budget and 384 MiB for the
// rest, unless set. With GOGC alone, a heap holding a full budget of renders grows to twice that before
// the collector runs.
func (c Config) MemoryLimit() int64 {
	if c.MemoryLimitMiB > 0 {
		return int64(c.MemoryLimitMiB) << 20
	}
	return int64(c.ImageMemoryMiB+384) << 20
}

func setCount(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return errors.New("must be a whole number >= 1")
	}
	*dst = n
	return nil
}

func setAppVersion(dst *string, v string) error {
	if _, err := appversion.Parse(v); err != nil {
		return err
	}
	*dst = v
	return nil
}

func setUint(dst *uint32, v string, lo, hi uint64) error {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("must be a whole number from %d to %d", lo, hi)
	}
	*dst = uint32(n)
	return nil
}

func setDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return errors.New("must be a duration such as 15m or 5s")
	}
	*dst = d
	return nil
}

// ParseTokenKeys reads comma-separated hex keys of 32 bytes each.
func ParseTokenKeys(v string) ([][]byte, error) {
	var keys [][]byte
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, err := hex.DecodeString(part)
		if err != nil || len(k) != 32 {
			return nil, errors.New("each key must be 64 hex digits (32 bytes)")
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errEmpty
	}
	return keys, nil
}

// LoadConfig reads and validates the configuration. Every problem is reported at once, by variable name;
// values are never echoed (some are secrets).
func LoadConfig(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	for _, v := range configVars() {
		val := getenv(v.name)
		if val == "" {
			if v.required {
				errs = append(errs, fmt.Errorf("%s: %w", v.name, errEmpty))
				continue
			}
			val = v.def
		}
		if val == "" {
			continue
		}
		if err := v.set(&c, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.name, err))
		}
	}
	if c.S3.Endpoint != "" && (c.S3.AccessKey == "" || c.S3.SecretKey == "") {
		errs = append(errs, errors.New("SALESD_S3_ACCESS_KEY, SALESD_S3_SECRET_KEY: required with SALESD_S3_ENDPOINT"))
	}
	if c.WeChat.OfficialAppID != "" && c.WeChat.OfficialSecret == "" {
		errs = append(errs, errors.New("SALESD_WECHAT_OA_SECRET: required with SALESD_WECHAT_OA_APPID"))
	}
	if c.WeChat.AppID != "" && c.WeChat.AppSecret == "" {
		errs = append(errs, errors.New("SALESD_WECHAT_SECRET: required with SALESD_WECHAT_APPID"))
	}
	if c.AccessTokenTTL <= 0 {
		errs = append(errs, errors.New("SALESD_ACCESS_TOKEN_TTL: must be positive"))
	}
	if c.RefreshTokenTTL <= c.AccessTokenTTL {
		errs = append(errs, errors.New("SALESD_REFRESH_TOKEN_TTL: must be longer than SALESD_ACCESS_TOKEN_TTL"))
	}
	if c.SessionLifetime <= c.AccessTokenTTL {
		errs = append(errs, errors.New("SALESD_SESSION_LIFETIME: must be longer than SALESD_ACCESS_TOKEN_TTL"))
	}
	if c.MinAppVersion != "" && c.MaxAppVersion != "" {
		lo, _ := appversion.Parse(c.MinAppVersion)
		hi, _ := appversion.Parse(c.MaxAppVersion)
		if appversion.Compare(hi, lo) < 0 {
			errs = append(errs, errors.New("SALESD_MAX_APP_VERSION: must not be older than SALESD_MIN_APP_VERSION"))
		}
	}
	return c, errors.Join(errs...)
}

// ConfigUsage writes the table of variables, their defaults and meaning.
func ConfigUsage(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	for _, v := range configVars() {
		def := v.def
		if v.required {
			def = "(required)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.name, def, v.help)
	}
	tw.Flush()
}

// NewLogger builds the process logger from the configuration.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
