package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatd/chatd/chat"
)

// CreateSession stores s.
func (d *DB) CreateSession(ctx context.Context, s chat.LoginSession) error {
	if len(s.TokenHash) == 0 {
		return errors.New("store: session without token hash")
	}
	_, err := d.db.ExecContext(ctx, d.q(
		`INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms) VALUES (?, ?, ?, ?)`),
		s.TokenHash, s.UserID, ms(s.Created), ms(s.Expires))
	if err != nil {
		return fmt.Errorf("store: insert session: %w", err)
	}
	return nil
}

// FindSessionUser returns the user of an unexpired session. It runs on
// every Socket.IO handshake, so its statement is prepared once.
func (d *DB) FindSessionUser(ctx context.Context, tokenHash []byte, now time.Time) (chat.User, error) {
	st, err := d.stmt(ctx, `
		SELECT u.id, u.name, u.role, u.created_ms
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_ms > ?`)
	if err != nil {
		return chat.User{}, err
	}
	u, err := scanUser(st.QueryRowContext(ctx, tokenHash, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return u, chat.Errorf(chat.ENOTFOUND, "no such session")
	}
	return u, err
}

// DeleteSession removes the session with the given token hash.
func (d *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := d.db.ExecContext(ctx, d.q(`DELETE FROM sessions WHERE token_hash = ?`), tokenHash)
	return err
}

// DeleteExpiredSessions removes the sessions expired at or before now.
func (d *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, d.q(`DELETE FROM sessions WHERE expires_ms <= ?`), ms(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
