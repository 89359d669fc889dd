package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

// Config is the server configuration. It is read from flags and the
// environment here and nowhere else.
type Config struct {
	Addr        string // listen address; port 0 picks a free port
	DB          string // SQLite database file, or a postgres:// URL
	Redis       string // Redis URL; empty runs a single node (no adapter)
	RedisPrefix string // prefix of the Redis channels of the adapter
	// RedisAdapter is the cluster adapter: "streams" (Redis Streams,
	// with connection state recovery across nodes) or "pubsub" (Redis
	// pub/sub, as @socket.io/redis-adapter, without recovery).
	RedisAdapter string
	// RecoveryWindow is how long after a dropped connection a client may
	// resume its sockets (connection state recovery); 0 turns recovery
	// off. Recovery is off in a cluster on the pub/sub adapter.
	RecoveryWindow time.Duration
	Origins        []string   // extra allowed origins (scheme://host[:port])
	MsgRate        float64    // messages per user per second; 0 turns the limit off
	LogLevel       slog.Level // lowest level logged
	// SecureCookie marks the session cookie Secure even on plain HTTP,
	// for chatd behind a proxy that terminates TLS.
	SecureCookie bool
	// PprofAddr is the listen address of the net/http/pprof endpoints;
	// empty (the default) serves none. It must be a loopback address
	// unless PprofPublic is set.
	PprofAddr   string
	PprofPublic bool
	// MetricsAddr is the listen address of the Prometheus metrics
	// (/metrics); empty (the default) serves none.
	MetricsAddr string
	// AdminUI turns the Socket.IO Admin UI on: its namespace and the
	// dashboard at /admin-ui/.
	AdminUI AdminUIConfig
}

// AdminUIConfig configures the Socket.IO Admin UI (socketio/admin).
type AdminUIConfig struct {
	Enabled   bool
	Namespace string // the admin namespace; never the chat's "/admin"
	Username  string
	// PasswordHash is the bcrypt hash of the dashboard's password, from
	// CHATD_ADMIN_UI_PASSWORD_HASH, or made at start-up from
	// CHATD_ADMIN_UI_PASSWORD.
	PasswordHash string
	NoAuth       bool // no login at all (loopback listeners only)
	ReadOnly     bool
	Production   bool // production mode: statistics only
}

// Defaults.
const (
	defaultAddr     = "127.0.0.1:8080"
	defaultDB       = "chatd.db"
	defaultMsgRate  = 10
	defaultLogLevel = "info"
	// defaultAdminUINamespace is the namespace of the Socket.IO Admin UI:
	// the reference's "/admin" is a chat namespace of chatd.
	defaultAdminUINamespace = "/socket.io-admin"
	defaultAdminUIUser      = "admin"
	// defaultRedisPrefix is the channel prefix of the reference Socket.IO
	// Redis adapter, so Node.js servers with default options can join.
	defaultRedisPrefix = "socket.io"
	// defaultRedisAdapter is the cluster adapter: Redis Streams keep what
	// every node sent, so clients resume their sessions on any node.
	defaultRedisAdapter = redisAdapterStreams
	// defaultRecoveryWindow is the default of -recovery-window.
	defaultRecoveryWindow = 2 * time.Minute
)

// The values of -redis-adapter.
const (
	redisAdapterStreams = "streams"
	redisAdapterPubSub  = "pubsub"
)

// dbUsage is the help text of the -db flag.
const dbUsage = "SQLite database file, or a postgres:// (postgresql://) URL of a PostgreSQL database (env CHATD_DB)"

// envOr returns the environment variable key, or def when it is unset or
// empty.
func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// parseServeConfig reads the server configuration from args (flags) and
// getenv; flags win over the environment.
func parseServeConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: chatd [flags]\n       chatd admin create [-db PATH|URL] NAME\n       chatd admin set-role [-db PATH|URL] NAME ROLE\n\nflags:\n")
		fs.PrintDefaults()
	}
	var c Config
	var origins, rate, level, adminMode, window string
	secureDefault := false
	if v := strings.TrimSpace(getenv("CHATD_SECURE_COOKIE")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("invalid CHATD_SECURE_COOKIE %q: want true or false", v)
		}
		secureDefault = b
	}
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "CHATD_ADDR", defaultAddr), "listen address (env CHATD_ADDR)")
	fs.StringVar(&c.DB, "db", envOr(getenv, "CHATD_DB", defaultDB), dbUsage)
	fs.StringVar(&c.Redis, "redis", getenv("CHATD_REDIS"), "Redis URL (redis://[:PASSWORD@]HOST:PORT/DB or rediss://...) of the cluster's Socket.IO adapter; empty = single node (env CHATD_REDIS)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", envOr(getenv, "CHATD_REDIS_PREFIX", defaultRedisPrefix), "prefix of the Redis channels; every node of a cluster uses the same (env CHATD_REDIS_PREFIX)")
	fs.StringVar(&c.RedisAdapter, "redis-adapter", envOr(getenv, "CHATD_REDIS_ADAPTER", defaultRedisAdapter), "cluster adapter with -redis: streams (Redis Streams: clients resume their sessions on any node) or pubsub (Redis pub/sub, as @socket.io/redis-adapter: no recovery) (env CHATD_REDIS_ADAPTER)")
	fs.StringVar(&window, "recovery-window", envOr(getenv, "CHATD_RECOVERY_WINDOW", defaultRecoveryWindow.String()), "how long a client whose connection dropped may resume its sockets and get the events it missed (connection state recovery); 0 = off; off with -redis-adapter pubsub (env CHATD_RECOVERY_WINDOW)")
	fs.StringVar(&origins, "origins", getenv("CHATD_ORIGINS"), "extra allowed origins, comma separated (env CHATD_ORIGINS)")
	fs.StringVar(&rate, "msg-rate", envOr(getenv, "CHATD_MSG_RATE", strconv.Itoa(defaultMsgRate)), "messages per user per second (bursts of 20), 0 = no limit (env CHATD_MSG_RATE)")
	fs.BoolVar(&c.SecureCookie, "secure-cookie", secureDefault, "mark the session cookie Secure even on plain HTTP: set it behind a proxy that terminates TLS (env CHATD_SECURE_COOKIE)")
	fs.StringVar(&c.PprofAddr, "pprof-addr", getenv("CHATD_PPROF_ADDR"), "listen address of the profiling endpoints (/debug/pprof/), loopback only unless -pprof-public; empty = off (env CHATD_PPROF_ADDR)")
	fs.BoolVar(&c.PprofPublic, "pprof-public", false, "allow -pprof-addr on a non-loopback address: anyone reaching it can profile the server")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", getenv("CHATD_METRICS_ADDR"), "listen address of the Prometheus metrics (/metrics), on a listener of their own; empty = off (env CHATD_METRICS_ADDR)")
	fs.StringVar(&level, "log-level", envOr(getenv, "CHATD_LOG_LEVEL", defaultLogLevel), "log level: debug, info, warn or error (env CHATD_LOG_LEVEL)")
	adminDefault, err := envBool(getenv, "CHATD_ADMIN_UI")
	if err != nil {
		return c, err
	}
	fs.BoolVar(&c.AdminUI.Enabled, "admin-ui", adminDefault, "serve the Socket.IO Admin UI: its namespace (-admin-ui-namespace) and the dashboard at /admin-ui/; the login is -admin-ui-user with the password of CHATD_ADMIN_UI_PASSWORD_HASH (bcrypt) or CHATD_ADMIN_UI_PASSWORD (env CHATD_ADMIN_UI)")
	fs.StringVar(&c.AdminUI.Namespace, "admin-ui-namespace", envOr(getenv, "CHATD_ADMIN_UI_NAMESPACE", defaultAdminUINamespace), "namespace of the Socket.IO Admin UI; not a chat namespace (env CHATD_ADMIN_UI_NAMESPACE)")
	fs.StringVar(&c.AdminUI.Username, "admin-ui-user", envOr(getenv, "CHATD_ADMIN_UI_USER", defaultAdminUIUser), "user name of the Admin UI login (env CHATD_ADMIN_UI_USER)")
	fs.BoolVar(&c.AdminUI.ReadOnly, "admin-ui-readonly", false, "Admin UI in read-only mode: it watches, it cannot join, leave or disconnect sockets, nor emit")
	fs.BoolVar(&c.AdminUI.NoAuth, "admin-ui-no-auth", false, "Admin UI without a login; only on a loopback -addr")
	fs.StringVar(&adminMode, "admin-ui-mode", envOr(getenv, "CHATD_ADMIN_UI_MODE", "development"), "Admin UI mode: development (sockets, rooms and events) or production (statistics only) (env CHATD_ADMIN_UI_MODE)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.MsgRate, err = strconv.ParseFloat(strings.TrimSpace(rate), 64); err != nil || c.MsgRate < 0 {
		return c, fmt.Errorf("invalid -msg-rate %q: want a number >= 0", rate)
	}
	if err := c.LogLevel.UnmarshalText([]byte(strings.TrimSpace(level))); err != nil {
		return c, fmt.Errorf("invalid -log-level %q: want debug, info, warn or error", level)
	}
	c.Origins, err = parseOrigins(origins)
	if err != nil {
		return c, err
	}
	if c.Addr == "" || c.DB == "" {
		return c, errors.New("-addr and -db must not be empty")
	}
	if c.Redis != "" {
		if _, err := redis.ParseURL(c.Redis); err != nil {
			return c, fmt.Errorf("invalid -redis URL %s: %v", redactRedisURL(c.Redis), redactErr(err, c.Redis))
		}
	}
	if strings.TrimSpace(c.RedisPrefix) == "" {
		return c, errors.New("-redis-prefix must not be empty")
	}
	switch c.RedisAdapter = strings.TrimSpace(c.RedisAdapter); c.RedisAdapter {
	case redisAdapterStreams, redisAdapterPubSub:
	default:
		return c, fmt.Errorf("invalid -redis-adapter %q: want streams or pubsub", c.RedisAdapter)
	}
	if c.RecoveryWindow, err = time.ParseDuration(strings.TrimSpace(window)); err != nil || c.RecoveryWindow < 0 {
		return c, fmt.Errorf("invalid -recovery-window %q: want a duration such as 2m or 30s, or 0 (off)", window)
	}
	if c.PprofAddr != "" && !c.PprofPublic && !loopbackAddr(c.PprofAddr) {
		return c, fmt.Errorf("-pprof-addr %q is not a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT); add -pprof-public to serve profiles there", c.PprofAddr)
	}
	if err := c.AdminUI.check(adminMode, c.Addr, getenv); err != nil {
		return c, err
	}
	return c, nil
}

// envBool reads a boolean environment variable (false when unset).
func envBool(getenv func(string) string, key string) (bool, error) {
	v := strings.TrimSpace(getenv(key))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid %s %q: want true or false", key, v)
	}
	return b, nil
}

// check completes and validates the Admin UI configuration.
func (a *AdminUIConfig) check(mode, addr string, getenv func(string) string) error {
	switch mode {
	case "development":
	case "production":
		a.Production = true
	default:
		return fmt.Errorf("invalid -admin-ui-mode %q: want development or production", mode)
	}
	if !a.Enabled {
		return nil
	}
	if !strings.HasPrefix(a.Namespace, "/") || a.Namespace == "/" || a.Namespace == "/admin" {
		return fmt.Errorf("invalid -admin-ui-namespace %q: want /NAME, not / nor the chat's /admin", a.Namespace)
	}
	if a.NoAuth {
		if !loopbackAddr(addr) {
			return errors.New("-admin-ui-no-auth needs a loopback -addr: anyone reaching the server could act on every socket")
		}
		return nil
	}
	if a.Username == "" {
		return errors.New("-admin-ui-user must not be empty")
	}
	if h := strings.TrimSpace(getenv("CHATD_ADMIN_UI_PASSWORD_HASH")); h != "" {
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return errors.New("CHATD_ADMIN_UI_PASSWORD_HASH is not a bcrypt hash")
		}
		a.PasswordHash = h
		return nil
	}
	pw := getenv("CHATD_ADMIN_UI_PASSWORD")
	if pw == "" {
		return errors.New("-admin-ui needs CHATD_ADMIN_UI_PASSWORD_HASH (a bcrypt hash) or CHATD_ADMIN_UI_PASSWORD, or -admin-ui-no-auth")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("CHATD_ADMIN_UI_PASSWORD: %w", err)
	}
	a.PasswordHash = string(h)
	return nil
}

// loopbackAddr reports whether the listen address addr names a loopback
// host.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseOrigins splits a comma-separated origin list, dropping empty items
// and trailing slashes.
func parseOrigins(s string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(s, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			return nil, fmt.Errorf("invalid origin %q: want scheme://host[:port]", o)
		}
		out = append(out, o)
	}
	return out, nil
}

// adminConfig is the configuration of the admin subcommands.
type adminConfig struct {
	DB       string
	Args     []string // positional arguments
	Password string   // from CHATD_ADMIN_PASSWORD; empty means prompt
}

// parseAdminConfig reads the -db flag (also from CHATD_DB) and the
// positional arguments of an admin subcommand; flags may come before or
// between the positional arguments.
func parseAdminConfig(cmd string, args []string, getenv func(string) string, stderr io.Writer) (adminConfig, error) {
	fs := flag.NewFlagSet("chatd admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := adminConfig{Password: getenv("CHATD_ADMIN_PASSWORD")}
	fs.StringVar(&c.DB, "db", envOr(getenv, "CHATD_DB", defaultDB), dbUsage)
	for {
		if err := fs.Parse(args); err != nil {
			return c, err
		}
		if fs.NArg() == 0 {
			break
		}
		c.Args = append(c.Args, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if c.DB == "" {
		return c, errors.New("-db must not be empty")
	}
	return c, nil
}

// redactRedisURL returns the Redis URL u with its password hidden, for logs
// and error messages.
func redactRedisURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return parsed.Redacted()
}

// redactErr returns the text of err with the password of the Redis URL u
// (if any) hidden.
func redactErr(err error, u string) string {
	msg := err.Error()
	if parsed, perr := url.Parse(u); perr == nil && parsed.User != nil {
		if pw, ok := parsed.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}
