package migrations_test

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chatd/chatd/migrations"
)

var name = regexp.MustCompile(`^[0-9]{5}_[a-z0-9_]+\.sql$`)

// names lists the migrations of fsys, checking each is named and
// annotated for goose.
func names(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !name.MatchString(f) {
			t.Errorf("%s: not named NNNNN_description.sql", f)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "-- +goose Up") || !strings.Contains(string(b), "-- +goose Down") {
			t.Errorf("%s: missing a goose Up or Down annotation", f)
		}
	}
	return files
}

// Both databases have the same migrations, numbered 1, 2, ... without a
// gap, so that both schemas report the same version.
func TestSameMigrationsForBothDatabases(t *testing.T) {
	sqlite, pg := names(t, migrations.FS), names(t, migrations.Postgres)
	if len(sqlite) == 0 || !slices.Equal(sqlite, pg) {
		t.Fatalf("SQLite migrations %v, PostgreSQL %v: want the same, non-empty", sqlite, pg)
	}
	for i, f := range sqlite {
		if want := fmt.Sprintf("%05d_", i+1); !strings.HasPrefix(f, want) {
			t.Errorf("migration %d is %s, want a name starting %s", i+1, f, want)
		}
	}
}
