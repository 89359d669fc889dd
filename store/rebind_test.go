package store

import "testing"

func TestPlaceholders(t *testing.T) {
	const query = `SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?`
	if got := (&DB{dialect: sqliteDialect}).q(query); got != query {
		t.Errorf("SQLite query changed: %q", got)
	}
	want := `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4`
	if got := (&DB{dialect: postgresDialect}).q(query); got != want {
		t.Errorf("PostgreSQL query = %q, want %q", got, want)
	}
}

func TestPlainSchemaName(t *testing.T) {
	for s, want := range map[string]bool{
		"chatd": true, "chatd_test_0a1b": true, "_x": true,
		"": false, "public": false, "pg_catalog": false, "a,b": false,
		`"$user"`: false, "Chatd": false, "1abc": false, "a b": false,
	} {
		if got := isPlainSchemaName(s); got != want {
			t.Errorf("isPlainSchemaName(%q) = %v, want %v", s, got, want)
		}
	}
}
