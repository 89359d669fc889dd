package admin

import (
	"encoding/json"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// FuzzCredentials feeds arbitrary CONNECT payloads to the login check: it
// never panics, and accepts only the right user name and password.
func FuzzCredentials(f *testing.F) {
	for _, s := range []string{``, `{}`, `null`, `[]`, `"x"`, `{"username":"admin","password":"pw"}`, `{"sessionId":"abc"}`, `{"username":1,"password":true}`} {
		f.Add([]byte(s))
	}
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	a := &BasicAuth{Username: "admin", PasswordHash: string(h)}
	if !a.check(credentials{Username: "admin", Password: "pw"}) {
		f.Fatal("the right password is refused")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := parseCredentials(json.RawMessage(b))
		if a.check(c) && (c.Username != "admin" || c.Password != "pw") {
			t.Fatalf("accepted %q", b)
		}
	})
}
