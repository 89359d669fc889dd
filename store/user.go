package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatd/chatd/chat"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

const userColumns = `id, name, role, created_ms`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (chat.User, error) {
	var u chat.User
	var created int64
	err := row.Scan(append([]any{&u.ID, &u.Name, &u.Role, &created}, extra...)...)
	u.Created = fromMS(created)
	return u, err
}

// CreateUser stores a new account.
func (d *DB) CreateUser(ctx context.Context, name string, role chat.Role, passwordHash string) (chat.User, error) {
	now := d.now()
	var id int64
	err := d.db.QueryRowContext(ctx, d.q(
		`INSERT INTO users (name, password_hash, role, created_ms) VALUES (?, ?, ?, ?) RETURNING id`),
		name, passwordHash, role, ms(now)).Scan(&id)
	if isUniqueViolation(err) {
		return chat.User{}, chat.Errorf(chat.ECONFLICT, "username %q is taken", name)
	}
	if err != nil {
		return chat.User{}, fmt.Errorf("store: insert user: %w", err)
	}
	return chat.User{ID: id, Name: name, Role: role, Created: fromMS(ms(now))}, nil
}

// FindUserByName returns the named account (without regard to case).
func (d *DB) FindUserByName(ctx context.Context, name string) (chat.User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, d.q(
		`SELECT `+userColumns+` FROM users WHERE `+d.nameIs()), name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, chat.Errorf(chat.ENOTFOUND, "no user %q", name)
	}
	return u, err
}

// FindCredentials returns the named account and its password hash.
func (d *DB) FindCredentials(ctx context.Context, name string) (chat.User, string, error) {
	var hash string
	u, err := scanUser(d.db.QueryRowContext(ctx, d.q(
		`SELECT `+userColumns+`, password_hash FROM users WHERE `+d.nameIs()), name), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return u, "", chat.Errorf(chat.ENOTFOUND, "no user %q", name)
	}
	return u, hash, err
}

// SetUserRole changes the role of the named account.
func (d *DB) SetUserRole(ctx context.Context, name string, role chat.Role) (chat.User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, d.q(
		`UPDATE users SET role = ? WHERE `+d.nameIs()+` RETURNING `+userColumns), role, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, chat.Errorf(chat.ENOTFOUND, "no user %q", name)
	}
	return u, err
}

// SetPasswordHash replaces the password hash of the named account.
func (d *DB) SetPasswordHash(ctx context.Context, name, passwordHash string) error {
	res, err := d.db.ExecContext(ctx, d.q(`UPDATE users SET password_hash = ? WHERE `+d.nameIs()), passwordHash, name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return chat.Errorf(chat.ENOTFOUND, "no user %q", name)
	}
	return nil
}

// ListUsers returns every account, ordered by name without regard to case.
func (d *DB) ListUsers(ctx context.Context) ([]chat.User, error) {
	order := `name, id` // the NOCASE collation of the column
	if d.dialect == postgresDialect {
		order = `lower(name), id`
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY `+order)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []chat.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// nameIs is the condition "column name equals the ? parameter without
// regard to case": the column has the NOCASE collation in SQLite, and
// PostgreSQL's unique index is on lower(name), which this condition uses.
func (d *DB) nameIs() string {
	if d.dialect == postgresDialect {
		return `lower(name) = lower(?)`
	}
	return `name = ?`
}

// isUniqueViolation reports whether err is a UNIQUE constraint failure of
// SQLite or PostgreSQL.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	return isPostgresUniqueViolation(err)
}
