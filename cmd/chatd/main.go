// Command chatd is the chat server: account pages, the chat page and (once
// mounted) the Socket.IO chat protocol of docs/protocol.md, on SQLite.
//
// Usage:
//
//	chatd [-addr 127.0.0.1:8080] [-db chatd.db] [-origins URL,...] [-msg-rate 10] [-log-level info]
//	chatd admin create [-db chatd.db] NAME          (password from CHATD_ADMIN_PASSWORD or a prompt)
//	chatd admin set-role [-db chatd.db] NAME ROLE   (ROLE is user, creator or admin)
//
// Every flag can also be set in the environment (CHATD_ADDR, CHATD_DB,
// CHATD_ORIGINS, CHATD_MSG_RATE, CHATD_LOG_LEVEL); a flag wins over the
// environment. The server stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
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
