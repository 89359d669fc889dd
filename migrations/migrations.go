// Package migrations holds the ordered SQL migrations of the chatd database,
// embedded into the binary.
//
// Files are named NNNNN_description.sql and use goose annotations
// (-- +goose Up / -- +goose Down). Package store applies them at start-up
// with goose's Provider API, one transaction per file, recording the applied
// versions in the goose_db_version table. A migration that has been released
// is never edited: changes go into a new file with the next number.
package migrations

import "embed"

// FS holds every *.sql migration of this directory, in lexical (= version)
// order.
//
//go:embed *.sql
var FS embed.FS
