package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// Any results file either fails to parse or gives tables, never a panic.
func FuzzParseResults(f *testing.F) {
	for line := range strings.Lines(sampleLines) {
		f.Add(line)
	}
	f.Add(sampleLines)
	f.Add(searchLines)
	f.Add(sampleLines + searchLines)
	f.Add(`{"label":"chat-idle-chatd","n":0,"opened":0,"connsPerSec":-1,"rssPerConn":null}`)
	f.Add(`{"label":"chat-fanout-node","deliveriesPerSec":0,"lost":-5,"p99Ms":1e308}`)
	f.Fuzz(func(t *testing.T, in string) {
		res, err := parseResults(strings.NewReader(in))
		if err != nil {
			return
		}
		var b bytes.Buffer
		productTable(res).markdown(&b)
		libraryTable(res).markdown(io.Discard)
		for line := range strings.Lines(b.String()) {
			if strings.HasPrefix(line, "| ") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 7 {
				t.Fatalf("a row of other than 6 cells: %q", line)
			}
		}
	})
}
