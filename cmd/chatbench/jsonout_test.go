package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"
)

func TestWriteJSON(t *testing.T) {
	cfg, err := parseFlags([]string{"-proto", "chat", "-mode", "fanout", "-url", "http://127.0.0.1:1", "-n", "10", "-json", "-label", "x"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	h := new(histogram)
	h.Record(10 * time.Millisecond)
	r := &fanoutResult{members: 10, senders: 2, rate: 5, duration: time.Second, sent: 6, expected: 60, delivered: 59,
		measured: 50, window: 2 * time.Second, hist: h, serverCPU: 0.5, serverCPUTime: time.Second, proto: "chat", acked: 5}
	var b bytes.Buffer
	writeJSON(&b, cfg.label, cfg, r, errors.New("boom"))
	if bytes.Count(b.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", b.String())
	}
	var j jsonReport
	if err := json.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.Label != "x" || j.Mode != "fanout" || j.Proto != "chat" || j.Error != "boom" || j.N != 10 ||
		*j.Lost != 1 || j.DeliveriesPerSec != 25 || *j.AcksMissing != 1 || *j.ServerCPUPer1k != 20 ||
		j.P99Ms == nil || *j.P99Ms < 9.9 || *j.P99Ms > 10.1 {
		t.Errorf("JSON %s", b.String())
	}

	// Nothing measured: the error alone.
	cfg.mode = "idle"
	b.Reset()
	writeJSON(&b, "", cfg, nil, errors.New("no server"))
	if err := json.Unmarshal(b.Bytes(), &j); err != nil || j.Error != "no server" {
		t.Errorf("JSON %s (%v)", b.String(), err)
	}
}
