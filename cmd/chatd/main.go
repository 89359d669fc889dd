// Command chatd is the chat server: account pages, the chat page and the
// Socket.IO chat protocol of docs/protocol.md, on SQLite or PostgreSQL.
//
// Usage:
//
//	chatd [-addr 127.0.0.1:8080] [-db chatd.db|postgres://...] [-redis redis://HOST:6379/0]
//	      [-redis-prefix socket.io] [-origins URL,...] [-msg-rate 10] [-log-level info]
//	chatd admin create [-db chatd.db] NAME          (password from CHATD_ADMIN_PASSWORD or a prompt)
//	chatd admin set-role [-db chatd.db] NAME ROLE   (ROLE is user, creator or admin)
//
// -db takes a SQLite file path (the default, chatd.db) or a postgres:// or
// postgresql:// URL; -redis turns on the Redis adapter, so that several
// chatd nodes on one Redis and one PostgreSQL database serve one chat (see
// docs/deploy.md).
//
// Every flag can also be set in the environment (CHATD_ADDR, CHATD_DB,
// CHATD_REDIS, CHATD_REDIS_PREFIX, CHATD_ORIGINS, CHATD_MSG_RATE,
// CHATD_LOG_LEVEL); a flag wins over the environment. The server stops
// gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// redisLogger passes go-redis's messages to a slog.Logger as warnings.
type redisLogger struct{ l *slog.Logger }

// Printf logs one go-redis message.
func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

func main() {
	// go-redis reports connection trouble through a process-wide logger;
	// route it to stderr in the server's log format.
	redis.SetLogger(redisLogger{slog.New(slog.NewTextHandler(os.Stderr, nil))})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "chatd:", err)
		os.Exit(1)
	}
}
