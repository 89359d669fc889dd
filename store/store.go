package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/migrations"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// dialect is the SQL database behind a DB.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

// Compile-time checks that DB implements the interfaces chat consumes.
var (
	_ chat.NamespaceStore = (*DB)(nil)
	_ chat.MessageStore   = (*DB)(nil)
	_ chat.UserStore      = (*DB)(nil)
	_ chat.SessionStore   = (*DB)(nil)
)

// DB is an open chatd database. It is safe for concurrent use.
type DB struct {
	db      *sql.DB
	path    string // file path, or the URL without its password
	dialect dialect
	now     func() time.Time
	appends appender // the group commit of AppendMessage (message.go)

	stmts sync.Map // query text -> *sql.Stmt, prepared on first use (stmt)
}

// stmt returns the prepared statement of query (in the dialect's form),
// preparing it on first use. database/sql prepares it again on each pooled
// connection as needed; SQLite then parses a hot query once per
// connection instead of once per call.
func (d *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := d.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := d.db.PrepareContext(ctx, d.q(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := d.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Options configure Open. The zero value is valid.
type Options struct {
	// Logger receives the migration log. Defaults to discarding it.
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// DSN returns the modernc.org/sqlite data source name for the database file
// at path, with the pragmas described in the package documentation.
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)") // first, so the pragmas below wait for locks too
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// IsPostgresURL reports whether dsn names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redact returns dsn with the password of a PostgreSQL URL replaced by
// "xxxxx", for logs and error messages; file paths are returned unchanged.
func Redact(dsn string) string {
	if !IsPostgresURL(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// Open opens the database named by path and applies every pending migration
// before returning. A postgres:// or postgresql:// URL opens that
// PostgreSQL database (see OpenPostgres); anything else is the path of a
// SQLite file, created if needed.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	if IsPostgresURL(path) {
		return OpenPostgres(ctx, path, opts)
	}
	if strings.HasPrefix(path, "file:") || strings.Contains(path, "?") {
		return nil, fmt.Errorf("store: want a file path, not a DSN: %q", path)
	}
	sqlDB, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Keep the connections of a burst of concurrent reads (a wave of
	// handshakes, each reading its session and unread counts) open: the
	// default keeps 2 idle, so every burst closed the others and opened
	// new ones, each setting its pragmas and parsing the schema again on
	// its first statement.
	sqlDB.SetMaxIdleConns(sqliteMaxIdleConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{db: sqlDB, path: path, dialect: sqliteDialect, now: opts.Now}
	if d.now == nil {
		d.now = time.Now
	}
	if err := d.migrate(ctx, opts.Logger, nil); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return d, nil
}

// sqliteMaxIdleConns is how many idle connections a SQLite database keeps.
const sqliteMaxIdleConns = 16

// migrateAttempts bounds the retries of migrate.
const migrateAttempts = 8

// migrate applies the pending migrations. Several processes may open one
// database at the same time (nodes of a cluster starting together); goose has
// no lock for SQLite, so one of them may find a migration already applied
// by another half-way through and fail. Each migration is one transaction
// recorded with its version, so trying again sees the other's work and
// finishes; migrate retries a few times with a growing pause. PostgreSQL
// migrations additionally hold a session advisory lock (extra provider
// options).
func (d *DB) migrate(ctx context.Context, logger *slog.Logger, extra []goose.ProviderOption) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := d.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: open %s: %w", d.path, err) // no point in retrying
	}
	var err error
	for attempt := 1; attempt <= migrateAttempts; attempt++ {
		if err = d.migrateOnce(ctx, logger, extra); err == nil {
			return nil
		}
		logger.Warn("migration failed; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
		}
	}
	return err
}

func (d *DB) migrateOnce(ctx context.Context, logger *slog.Logger, extra []goose.ProviderOption) error {
	goDialect, fsys := goose.DialectSQLite3, fs.FS(migrations.FS)
	if d.dialect == postgresDialect {
		goDialect, fsys = goose.DialectPostgres, migrations.Postgres
	}
	p, err := goose.NewProvider(goDialect, d.db, fsys, append([]goose.ProviderOption{goose.WithSlog(logger)}, extra...)...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", d.path, err)
	}
	for _, r := range results {
		logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// Close closes the database. Appends already queued are stored first; an
// AppendMessage called once Close has begun fails with ErrClosed.
func (d *DB) Close() error {
	d.closeAppends()
	d.stmts.Range(func(k, st any) bool {
		_ = st.(*sql.Stmt).Close()
		d.stmts.Delete(k)
		return true
	})
	return d.db.Close()
}

// Ping checks that the database answers a query.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// SchemaVersion returns the highest applied migration version.
func (d *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := d.db.QueryRowContext(ctx,
		`SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v, err
}

// q returns query, written with ? placeholders, in the placeholder syntax of
// the database: $1, $2, ... for PostgreSQL. Queries must not contain a
// question mark anywhere else.
func (d *DB) q(query string) string {
	if d.dialect != postgresDialect {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// ms converts t to milliseconds since the Unix epoch.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts milliseconds since the Unix epoch to a time.
func fromMS(v int64) time.Time { return time.UnixMilli(v) }
