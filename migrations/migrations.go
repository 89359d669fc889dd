// Package migrations holds the ordered SQL migrations of the chatd database,
// embedded into the binary: FS for SQLite and Postgres for PostgreSQL.
//
// Files are named NNNNN_description.sql and use goose annotations
// (-- +goose Up / -- +goose Down). Package store applies them at start-up
// with goose's Provider API, one transaction per file, recording the applied
// versions in the goose_db_version table. A migration that has been released
// is never edited: changes go into a new file with the next number, for both
// databases, with the same version number, so that both schemas stay alike
// and report the same version.
package migrations

import (
	"embed"
	"io/fs"
)

// FS holds every *.sql migration of this directory (the SQLite dialect), in
// lexical (= version) order.
//
//go:embed *.sql
var FS embed.FS

//go:embed postgres/*.sql
var postgresFS embed.FS

// Postgres holds the PostgreSQL migrations (directory postgres/), in
// lexical (= version) order, at the root of the file system.
var Postgres fs.FS = mustSub(postgresFS, "postgres")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
