package store_test

import (
	"io/fs"
	"strconv"
	"testing"

	"github.com/chatd/chatd/migrations"
)

// latestMigration is the version of the newest migration file (its
// NNNNN_ prefix), which a migrated database reports.
func latestMigration(t *testing.T) int64 {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v, %v", files, err)
	}
	v, err := strconv.ParseInt(files[len(files)-1][:5], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
