package static_test

import (
	"io/fs"
	"os"
	"regexp"
	"testing"

	"github.com/chatd/chatd/web/static"
)

// The embedded files are there, and every namespace image the seed
// migration names is one of them.
func TestEmbedded(t *testing.T) {
	for _, name := range []string{"app.js", "style.css"} {
		b, err := fs.ReadFile(static.FS, name)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", name, len(b), err)
		}
	}
	seed, err := os.ReadFile("../../migrations/00002_seed_rooms.sql")
	if err != nil {
		t.Fatal(err)
	}
	imgs := regexp.MustCompile(`'/static/(img/[^']+)'`).FindAllStringSubmatch(string(seed), -1)
	if len(imgs) == 0 {
		t.Fatal("no namespace image in the seed migration")
	}
	for _, m := range imgs {
		if _, err := fs.Stat(static.FS, m[1]); err != nil {
			t.Errorf("the seed names /static/%s: %v", m[1], err)
		}
	}
}
