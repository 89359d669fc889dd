package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
	"golang.org/x/term"
)

const adminUsage = `usage:
  chatd admin create [-db PATH] NAME          create an admin account (password from
                                              CHATD_ADMIN_PASSWORD, else a prompt)
  chatd admin set-role [-db PATH] NAME ROLE   set a user's role (user, creator, admin)`

// readPassword asks for a password on the terminal (standard input) without
// echo; without a terminal it fails.
func readPassword(prompt string, stderr io.Writer) (string, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("no password: set CHATD_ADMIN_PASSWORD or run on a terminal")
	}
	fmt.Fprint(stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	return string(b), err
}

// runAdmin runs "chatd admin ...".
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, adminUsage)
		return errors.New("admin: missing subcommand")
	}
	cmd := args[0]
	c, err := parseAdminConfig(cmd, args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	switch cmd {
	case "create":
		if len(c.Args) != 1 {
			fmt.Fprintln(stderr, adminUsage)
			return errors.New("admin create: want exactly one NAME")
		}
		return adminCreate(ctx, c, stdout, stderr)
	case "set-role":
		if len(c.Args) != 2 {
			fmt.Fprintln(stderr, adminUsage)
			return errors.New("admin set-role: want NAME and ROLE")
		}
		return adminSetRole(ctx, c, stdout)
	default:
		fmt.Fprintln(stderr, adminUsage)
		return fmt.Errorf("admin: unknown subcommand %q", cmd)
	}
}

func openStore(ctx context.Context, path string) (*store.DB, *chat.Accounts, error) {
	db, err := store.Open(ctx, path, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	return db, chat.NewAccounts(db, db, chat.AccountsOptions{}), nil
}

func adminCreate(ctx context.Context, c adminConfig, stdout, stderr io.Writer) error {
	name := c.Args[0]
	if err := chat.ValidateUsername(name); err != nil {
		return cliError("admin create", err)
	}
	password := c.Password
	if password == "" {
		p1, err := readPassword("Password for "+name+": ", stderr)
		if err != nil {
			return fmt.Errorf("admin create: %w", err)
		}
		p2, err := readPassword("Repeat the password: ", stderr)
		if err != nil {
			return fmt.Errorf("admin create: %w", err)
		}
		if p1 != p2 {
			return errors.New("admin create: the passwords differ")
		}
		password = p1
	}
	db, acc, err := openStore(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := acc.CreateUser(ctx, name, password, chat.RoleAdmin)
	if err != nil {
		return cliError("admin create", err)
	}
	fmt.Fprintf(stdout, "created admin %s (id %d)\n", u.Name, u.ID)
	return nil
}

func adminSetRole(ctx context.Context, c adminConfig, stdout io.Writer) error {
	name := c.Args[0]
	role, err := chat.ParseRole(c.Args[1])
	if err != nil {
		return cliError("admin set-role", err)
	}
	db, acc, err := openStore(ctx, c.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := acc.SetRole(ctx, name, role)
	if err != nil {
		return cliError("admin set-role", err)
	}
	fmt.Fprintf(stdout, "%s is now %s\n", u.Name, u.Role)
	return nil
}

// cliError words err for the terminal: the message of an application
// error, or the full error of an internal one.
func cliError(prefix string, err error) error {
	if chat.ErrorCode(err) == chat.EINTERNAL {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return fmt.Errorf("%s: %s", prefix, chat.ErrorMessage(err))
}
