package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/chat/live"
	"github.com/chatd/chatd/chat/redispresence"
	httpserve "github.com/chatd/chatd/internal/serve"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/redisadapter"
	"github.com/chatd/chatd/socketio/redisstreams"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/web"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/redis/go-redis/v9"
)

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 10 * time.Second

// authCacheTTL is how long chatd keeps an authenticated session in memory
// (chat.AccountsOptions.AuthCacheTTL).
const authCacheTTL = time.Second

// clusterHistoryTTL is how long a node of a cluster uses a room's cached
// history before reading it again from the database.
const clusterHistoryTTL = 10 * time.Second

// historyTTL is chat.MessagesOptions.HistoryTTL for cfg: unbounded on one
// node, clusterHistoryTTL in a cluster.
func historyTTL(cfg Config) time.Duration {
	if cfg.Redis == "" {
		return 0
	}
	return clusterHistoryTTL
}

// readsTTL is chat.ReadMarkersOptions.CacheTTL for cfg: the default on one
// node (every marker moves through it), a second in a cluster.
func readsTTL(cfg Config) time.Duration {
	if cfg.Redis == "" {
		return 0
	}
	return time.Second
}

// run is the whole program: "chatd admin ..." runs an admin subcommand,
// anything else runs the server until ctx is cancelled. args exclude the
// program name. It prints "listening on http://HOST:PORT" to stdout once the
// server accepts connections, and logs to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "admin" {
		return runAdmin(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseServeConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stdout, stderr)
}

// serve runs the server with cfg until ctx is cancelled, then shuts down in
// order: the Socket.IO server first (it ends every session), then the HTTP
// server (waiting for requests in flight), then the Redis client (when
// -redis is set), then the database.
func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	db, err := store.Open(ctx, cfg.DB, store.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Close(); err != nil {
			logger.Error("closing database", "err", err)
		}
	}()
	if n, err := db.DeleteExpiredSessions(ctx, time.Now()); err != nil {
		logger.Warn("removing expired sessions", "err", err)
	} else if n > 0 {
		logger.Info("removed expired sessions", "count", n)
	}

	// Every handshake would otherwise query the database for its session
	// (a burst of connections of one user, or a reconnect storm, asks for
	// the same sessions again and again): sessions are kept for a second.
	// A log-out or role change through this process applies at once; in a
	// cluster it is told to the other nodes at once (the chat server's
	// UserChanged, once it exists); only a role set with `chatd admin`
	// waits for that second.
	var chatRef atomic.Pointer[live.Server]
	accOpts := chat.AccountsOptions{AuthCacheTTL: authCacheTTL}
	if cfg.Redis != "" {
		accOpts.OnUserChanged = func(id int64) {
			if cs := chatRef.Load(); cs != nil {
				cs.UserChanged(id)
			}
		}
	}
	accounts := chat.NewAccounts(db, db, accOpts)
	limiter := chat.NewRateLimiter(cfg.MsgRate, chat.DefaultMessageBurst)
	// With -metrics-addr, the message store and the log-ins are measured.
	var (
		met         *chatMetrics
		msgStore    chat.MessageStore = db
		pageAccount web.Accounts      = accounts
	)
	if cfg.MetricsAddr != "" {
		met = newChatMetrics()
		msgStore = meteredMessages{store: db, m: met}
		pageAccount = meteredAccounts{Accounts: accounts, m: met}
	}
	pages, err := web.New(web.Config{
		Accounts:       pageAccount,
		Namespaces:     db,
		Health:         db,
		TrustedOrigins: cfg.Origins,
		SecureCookies:  cfg.SecureCookie,
		Logger:         logger,
	})
	if err != nil {
		return err
	}

	// Presence: in memory on one node, on Redis in a cluster, where it
	// reports rooms whose users left with a dead node (presenceChanged,
	// forwarded to the chat server once it exists).
	var presence chat.Presence = chat.NewMemoryPresence()
	presenceChanged := func(room chat.RoomID, joined, left []string) {
		if cs := chatRef.Load(); cs != nil {
			cs.PresenceChanged(room, joined, left)
		}
	}

	// The Socket.IO server speaking the chat protocol; handshakes from a
	// foreign Origin are refused before any session exists.
	sioOpts := &socketio.Options{
		Logger: logger,
		Engine: engine.Options{AllowRequest: live.OriginChecker(cfg.Origins)},
	}
	if recoveryOn(cfg) {
		// A client back within the window of a dropped connection
		// resumes its sockets (same ids, rooms) and gets the events it
		// missed instead of joining and reloading the history again; in
		// a cluster on the Streams adapter it may come back to any node
		// (the sessions and the packets of every node are in Redis, so
		// they outlive the restart of the node it was on). The
		// middlewares run again: a session logged out meanwhile is
		// refused.
		sioOpts.ConnectionStateRecovery = &socketio.RecoveryOptions{
			MaxDisconnectionDuration: cfg.RecoveryWindow,
			RunMiddlewares:           true,
		}
	}
	if cfg.Redis != "" {
		// The cluster adapter: rooms, broadcasts and member counts span
		// every node on this Redis. The client is closed after the
		// Socket.IO server: this deferred call runs after every later
		// one, and after the explicit sio.Close of the shutdown, which
		// stores the sessions of the sockets it ends (reason "server
		// shutting down") through the adapter, on this client.
		rdb, err := newRedisClient(cfg.Redis)
		if err != nil {
			return err
		}
		defer func() {
			if err := rdb.Close(); err != nil {
				logger.Warn("closing Redis client", "err", err)
			}
		}()
		sioOpts.Adapter = clusterAdapter(cfg, rdb, logger)
		// Presence on the same Redis: every node counts every room's
		// users, and the users of a node that dies leave the counts
		// within seconds (the rooms then hear the new count). Deferred
		// after the Redis client's Close, so it runs before it.
		rp, err := redispresence.New(rdb, redispresence.Options{
			Prefix:    cfg.RedisPrefix + ":presence",
			OnExpire:  func(room chat.RoomID, left []string) { presenceChanged(room, nil, left) },
			OnRestore: func(room chat.RoomID, joined []string) { presenceChanged(room, joined, nil) },
			Logger:    logger,
		})
		if err != nil {
			return fmt.Errorf("presence on Redis: %w", err)
		}
		defer func() {
			pctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := rp.Close(pctx); err != nil {
				logger.Warn("closing presence", "err", err)
			}
		}()
		presence = rp
	}
	sio := socketio.NewServer(sioOpts)
	sioClosed := false
	defer func() {
		// Early returns (registration or listen failures) still end the
		// Socket.IO server, before the Redis client is closed.
		if !sioClosed {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			sio.Close(sctx)
		}
	}()
	if met != nil {
		met.addServer(sio, presence)
	}
	messages := chat.NewMessages(msgStore, chat.MessagesOptions{Limiter: limiter, CacheHistory: true, HistoryTTL: historyTTL(cfg)})
	chatSrv := live.NewServer(live.Options{
		Auth:       accounts,
		Namespaces: db,
		// Each room's latest messages are kept in memory: one node sees
		// every post; the nodes of a cluster tell each other of theirs
		// (live.Options.Cluster) and read a room again after
		// clusterHistoryTTL, in case a notification was lost.
		Messages: messages,
		// Read markers are kept in memory too (unread counts on every
		// connection ask nothing of the database); in a cluster, where
		// joins on other nodes move them, for a second.
		Reads:      chat.NewReadMarkers(db, messages, chat.ReadMarkersOptions{CacheTTL: readsTTL(cfg)}),
		Presence:   presence,
		Cluster:    cfg.Redis != "",
		ForgetUser: accounts.ForgetUser,
		Logger:     logger,
	})
	chatRef.Store(chatSrv)
	defer chatSrv.Close()
	if err := chatSrv.Register(ctx, sio); err != nil {
		return err
	}
	recoveryFile := recoveryFileOf(cfg)
	if recoveryFile != "" {
		if err := loadRecovery(sio, recoveryFile, logger); err != nil {
			return err
		}
	}
	router := chi.NewRouter()
	router.Use(middleware.Recoverer)
	router.Use(requestLog(logger))
	router.Handle("/socket.io/*", sio)
	stopAdminUI := func() {}
	if cfg.AdminUI.Enabled {
		stop, err := setupAdminUI(cfg.AdminUI, sio, router, logger)
		if err != nil {
			return err
		}
		// Before the Socket.IO server is closed (a deferred call runs
		// before those deferred earlier; the shutdown calls it first).
		defer stop()
		stopAdminUI = stop
	}
	router.Mount("/", pages)

	// No TCP keep-alive probes: Engine.IO's heartbeat finds dead peers of
	// live sessions, and IdleTimeout ends idle HTTP connections; this
	// spares four system calls per accepted connection.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	if cfg.PprofAddr != "" {
		stopPprof, err := serveSide(ctx, cfg.PprofAddr, "-pprof-addr", httpserve.Pprof(), logger, "profiling endpoints", "/debug/pprof/")
		if err != nil {
			_ = srv.Close()
			<-serveErr
			return err
		}
		defer stopPprof()
	}
	if met != nil {
		stopMetrics, err := serveSide(ctx, cfg.MetricsAddr, "-metrics-addr", met.handler(), logger, "metrics", "/metrics")
		if err != nil {
			_ = srv.Close()
			<-serveErr
			return err
		}
		defer stopMetrics()
	}

	addr := ln.Addr().String()
	logger.Info("listening", "addr", addr, "db", store.Redact(cfg.DB), "redis", redisLogValue(cfg),
		"recovery", recoveryLogValue(cfg),
		"msg_rate", cfg.MsgRate, "origins", cfg.Origins)
	fmt.Fprintf(stdout, "listening on http://%s\n", addr)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var errs []error
	sioClosed = true
	// The chat's users leave their rooms first, while the adapter still
	// reaches the other nodes, which then show the new counts.
	chatSrv.Shutdown()
	stopAdminUI()
	if err := sio.Close(sctx); err != nil {
		errs = append(errs, fmt.Errorf("closing Socket.IO server: %w", err))
	}
	if recoveryFile != "" {
		if err := saveRecovery(sio, recoveryFile); err != nil {
			errs = append(errs, err)
		}
	}
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("shutting down HTTP server: %w", err))
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	logger.Info("stopped")
	return errors.Join(errs...)
}

// recoveryFileOf is where a single node on a SQLite database keeps the
// state of connection state recovery across a restart (beside the
// database: "<db>.recovery"), so that its clients resume after it, as
// after a short drop; "" when it keeps none (recovery off, a cluster, whose
// Streams adapter keeps it in Redis, or PostgreSQL).
func recoveryFileOf(cfg Config) string {
	if !recoveryOn(cfg) || cfg.Redis != "" || store.IsPostgresURL(cfg.DB) {
		return ""
	}
	return cfg.DB + ".recovery"
}

// loadRecovery restores the recovery state the last process saved in
// path, then removes the file (a later crash must not restore it again).
func loadRecovery(sio *socketio.Server, path string, logger *slog.Logger) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the recovery state: %w", err)
	}
	if err := sio.LoadRecovery(b); err != nil {
		// Not fatal: the clients reconnect anew, as without it.
		logger.Warn("dropping the recovery state of the last run", "file", path, "err", err)
	} else {
		logger.Info("clients of the last run may resume their sessions", "file", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing the recovery state: %w", err)
	}
	return nil
}

// saveRecovery writes the recovery state (the sessions of the sockets the
// shutdown closed, and the packets of the window) to path, readable by
// its owner only: it holds the private ids clients resume with.
func saveRecovery(sio *socketio.Server, path string) error {
	b, err := sio.SaveRecovery()
	if err != nil || b == nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("saving the recovery state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("saving the recovery state: %w", err)
	}
	return nil
}

// recoveryOn reports whether cfg turns connection state recovery on: a
// window is set, and the node is alone or on the Streams adapter (the
// pub/sub adapter cannot promise the packets other nodes sent).
func recoveryOn(cfg Config) bool {
	return cfg.RecoveryWindow > 0 && (cfg.Redis == "" || cfg.RedisAdapter == redisAdapterStreams)
}

// clusterAdapter returns the Socket.IO adapter of a cluster node on rdb:
// the Redis Streams adapter (stream and channels named by the prefix) or
// the pub/sub one (channels named by the prefix).
func clusterAdapter(cfg Config, rdb *redis.Client, logger *slog.Logger) adapter.Factory {
	if cfg.RedisAdapter == redisAdapterPubSub {
		return redisadapter.NewRedis(rdb, redisadapter.Options{
			Key:    cfg.RedisPrefix,
			Logger: logger,
		})
	}
	return redisstreams.New(rdb, redisstreams.Options{
		StreamName:       cfg.RedisPrefix,
		ChannelPrefix:    cfg.RedisPrefix,
		SessionKeyPrefix: sessionKeyPrefix(cfg.RedisPrefix),
		Logger:           logger,
	})
}

// sessionKeyPrefix is the prefix of the Redis keys of the recoverable
// sessions: that of @socket.io/redis-streams-adapter with the default
// prefix (so Node servers with default options can share the sessions),
// "<prefix>:session:" with another.
func sessionKeyPrefix(prefix string) string {
	if prefix == defaultRedisPrefix {
		return "" // the adapter's default, "sio:session:"
	}
	return prefix + ":session:"
}

// newRedisClient returns a go-redis client for the Redis URL u (already
// checked by parseServeConfig). The URL's query may set go-redis options
// (dial_timeout, max_retries, pool_size, ...). Unless it sets max_retries,
// a command is retried once, and a failed dial is not repeated within a
// command: while Redis is down, every broadcast and member count waits for
// its failure, so failing fast keeps local delivery quick.
func newRedisClient(u string) (*redis.Client, error) {
	opts, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("invalid -redis URL %s: %v", redactRedisURL(u), redactErr(err, u))
	}
	if parsed, err := url.Parse(u); err == nil && !parsed.Query().Has("max_retries") {
		opts.MaxRetries = 1
	}
	opts.DialerRetries = 1
	return redis.NewClient(opts), nil
}

// redisLogValue describes the Redis configuration for the start-up log.
func redisLogValue(cfg Config) string {
	if cfg.Redis == "" {
		return "off (single node)"
	}
	return redactRedisURL(cfg.Redis) + " prefix " + cfg.RedisPrefix + " adapter " + cfg.RedisAdapter
}

// recoveryLogValue describes connection state recovery for the start-up
// log.
func recoveryLogValue(cfg Config) string {
	if !recoveryOn(cfg) {
		return "off"
	}
	return cfg.RecoveryWindow.String()
}

// requestLog logs each request at debug level (Socket.IO traffic included).
func requestLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !logger.Enabled(r.Context(), slog.LevelDebug) {
				next.ServeHTTP(w, r)
				return
			}
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", ww.Status(),
				"bytes", ww.BytesWritten(), "duration", time.Since(start))
		})
	}
}

// serveSide serves h on a listener of its own at addr (never on the
// chat's address), given by the flag named flagName, and returns the
// function that stops it. It logs what ("profiling endpoints", "metrics")
// with the URL of path.
func serveSide(ctx context.Context, addr, flagName string, h http.Handler, logger *slog.Logger, what, path string) (func(), error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", flagName, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn(what, "err", err)
		}
	}()
	logger.Info(what, "addr", "http://"+ln.Addr().String()+path)
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}
