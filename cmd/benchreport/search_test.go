package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The search with a fake runner that answers the verdicts given, in turn.
func TestRateSearch(t *testing.T) {
	const p, f, b = pass, fail, broken
	for _, tc := range []struct {
		name      string
		start     float64
		steps     int
		verdicts  []verdict // of the runs, in turn
		wantRates []float64
		wantBest  int
	}{
		{"up until one fails", 580, 8, []verdict{p, p, p, f}, []float64{580, 667, 767, 882}, 2},
		{"up until the steps run out", 100, 4, []verdict{p, p, p, p}, []float64{100, 115, 132, 152}, 3},
		{"the second fails", 100, 8, []verdict{p, f}, []float64{100, 115}, 0},
		{"down until one passes", 60, 8, []verdict{f, f, p}, []float64{60, 52, 45}, 2},
		{"down, none passes", 60, 4, []verdict{f, f, f, f}, []float64{60, 52, 45, 39}, -1},
		{"no search: 1 step", 580, 1, []verdict{p}, []float64{580}, 0},
		{"no search: 0 steps", 580, 0, []verdict{f}, []float64{580}, -1},
		{"quick: 2 steps", 20, 2, []verdict{p, p}, []float64{20, 23}, 1},
		{"quick: 2 steps down", 20, 2, []verdict{f, p}, []float64{20, 17}, 1},
		{"the first breaks", 580, 8, []verdict{b}, []float64{580}, -1},
		{"a later one breaks", 580, 8, []verdict{p, p, b}, []float64{580, 667, 767}, 1},
		{"breaks going down", 60, 8, []verdict{f, b}, []float64{60, 52}, -1},
		{"small rates, in tenths", 2, 3, []verdict{f, f, f}, []float64{2, 1.7, 1.5}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotSteps []int
			rates, verdicts, best := rateSearch(tc.start, 1.15, tc.steps, func(step int, rate float64) verdict {
				gotSteps = append(gotSteps, step)
				if len(gotSteps) > len(tc.verdicts) {
					t.Fatalf("run %d at %g: one run too many", step, rate)
				}
				return tc.verdicts[step-1]
			})
			if !slices.Equal(rates, tc.wantRates) || best != tc.wantBest {
				t.Errorf("rates %v, best %d; want %v, %d", rates, best, tc.wantRates, tc.wantBest)
			}
			if !slices.Equal(verdicts, tc.verdicts) {
				t.Errorf("verdicts %v, want %v", verdicts, tc.verdicts)
			}
			for i, s := range gotSteps {
				if s != i+1 {
					t.Errorf("steps %v", gotSteps)
					break
				}
			}
		})
	}
}

func TestNextRate(t *testing.T) {
	for _, tc := range []struct {
		rate, factor float64
		up           bool
		want         float64
	}{
		{580, 1.15, true, 667}, {60, 1.15, false, 52}, {9.5, 1.15, true, 11}, {10, 1.15, false, 8.7},
		{20, 1.01, true, 21}, {20, 1.01, false, 19}, {1, 1.15, true, 1.2}, {0.3, 1.15, false, 0.2},
	} {
		if got := nextRate(tc.rate, tc.factor, tc.up); got != tc.want {
			t.Errorf("nextRate(%g, %g, %v) = %g, want %g", tc.rate, tc.factor, tc.up, got, tc.want)
		}
	}
	if got := nextRate(0.1, 1.15, false); got <= 0 || got >= 0.1 {
		t.Errorf("below 0.1: %g", got)
	}
}

func TestStepLabel(t *testing.T) {
	for label, want := range map[string]struct {
		base string
		step int
	}{
		stepLabel("chat-fanout-chatd", 3): {"chat-fanout-chatd", 3},
		"chat-fanout-chatd":               {"chat-fanout-chatd", 0},
		"chat-fanout-chatd#x":             {"chat-fanout-chatd#x", 0},
		"chat-fanout-chatd#0":             {"chat-fanout-chatd#0", 0},
		"#2":                              {"#2", 0},
	} {
		if base, step := splitStep(label); base != want.base || step != want.step {
			t.Errorf("splitStep(%q) = %q, %d", label, base, step)
		}
	}
}

// searchLines are the JSON lines of the fan-out rows' searches: chatd
// raised until 767 msg/s failed, Node lowered until 45 passed; with
// long-polling chatd's steps ran out and Node passed at no rate; the
// library raised once and lowered once. A first search of
// chat-fanout-chatd, put before the results of the second, is replaced.
const searchLines = `{"label":"chat-fanout-chatd#1","mode":"fanout","proto":"chat","n":1010,"senders":10,"rate":100,"lost":0,"acksMissing":0,"deliveriesPerSec":101000,"p99Ms":20}
{"label":"chat-fanout-chatd#2","mode":"fanout","proto":"chat","n":1010,"senders":10,"rate":115,"lost":0,"acksMissing":0,"deliveriesPerSec":116150,"p99Ms":21}
{"label":"chat-fanout-chatd#1","mode":"fanout","proto":"chat","n":1010,"senders":10,"rate":580,"lost":0,"acksMissing":0,"deliveriesPerSec":583881,"p99Ms":117.2,"loadCPU":0.9}
{"label":"chat-fanout-chatd#2","mode":"fanout","proto":"chat","n":1010,"senders":10,"rate":667,"lost":0,"acksMissing":0,"deliveriesPerSec":671300,"p99Ms":180,"loadCPU":0.9,"otherCPU":0.2}
{"label":"chat-fanout-chatd#3","mode":"fanout","proto":"chat","n":1010,"senders":10,"rate":767,"lost":0,"acksMissing":0,"deliveriesPerSec":760000,"p99Ms":310,"loadCPU":0.9}
{"label":"chat-fanout-node#1","mode":"fanout","proto":"chat","n":1010,"senders":10,"rate":60,"lost":0,"acksMissing":0,"deliveriesPerSec":59023,"p99Ms":1401}
{"label":"chat-fanout-node#2","mode":"fanout","proto":"chat","n":1010,"senders":10,"rate":52,"lost":0,"acksMissing":2,"deliveriesPerSec":52000,"p99Ms":200}
{"label":"chat-fanout-node#3","mode":"fanout","proto":"chat","n":1010,"senders":10,"rate":45,"lost":0,"acksMissing":0,"deliveriesPerSec":45450,"p99Ms":90}
{"label":"chat-polling-chatd#1","mode":"fanout","proto":"chat","n":1010,"senders":10,"polling":50,"rate":500,"lost":0,"acksMissing":0,"deliveriesPerSec":502200,"p99Ms":114,"serverCPUPer1000":0.0018}
{"label":"chat-polling-chatd#2","mode":"fanout","proto":"chat","n":1010,"senders":10,"polling":50,"rate":575,"lost":0,"acksMissing":0,"deliveriesPerSec":577000,"p99Ms":150,"serverCPUPer1000":0.0017}
{"label":"chat-polling-node#1","mode":"fanout","proto":"chat","n":1010,"senders":10,"polling":50,"rate":40,"lost":3,"acksMissing":0,"deliveriesPerSec":40000,"p99Ms":100,"serverCPUPer1000":0.02}
{"label":"chat-polling-node#2","mode":"fanout","proto":"chat","n":1010,"senders":10,"polling":50,"rate":35,"lost":0,"acksMissing":0,"deliveriesPerSec":35350,"p99Ms":400,"serverCPUPer1000":0.021}
{"label":"lib-fanout-go#1","mode":"fanout","proto":"bench","client":"raw","n":1000,"senders":1,"rate":800,"lost":0,"deliveriesPerSec":798200,"p99Ms":43}
{"label":"lib-fanout-go#2","mode":"fanout","proto":"bench","client":"raw","n":1000,"senders":1,"rate":920,"lost":0,"deliveriesPerSec":900000,"p99Ms":250}
{"label":"lib-fanout-node#1","mode":"fanout","proto":"bench","client":"raw","n":1000,"senders":1,"rate":80,"lost":12,"deliveriesPerSec":80600,"p99Ms":4400}
{"label":"lib-fanout-node#2","mode":"fanout","proto":"bench","client":"raw","n":1000,"senders":1,"rate":70,"lost":0,"deliveriesPerSec":70000,"p99Ms":60}
`

func TestSearchTables(t *testing.T) {
	res, err := parseResults(strings.NewReader(searchLines))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res[lChatFanout+"chatd"]); n != 3 {
		t.Errorf("the chatd fan-out has %d runs, want the 3 of its last search", n)
	}
	if r := res.get(lChatFanout + "chatd"); r == nil || r.Label != "chat-fanout-chatd#2" {
		t.Errorf("chatd's fan-out: %+v, want step 2", r)
	}
	var p, l bytes.Buffer
	productTable(res).markdown(&p)
	libraryTable(res).markdown(&l)
	checkSearchTables(t, p.String(), l.String())
}

// checkSearchTables checks the tables of searchLines.
func checkSearchTables(t *testing.T, p, l string) {
	t.Helper()
	for _, tc := range []struct {
		table, prefix string
		want          []string
	}{
		{p, "fan-out to a room of 1,010, 10 senders, acked and stored (chatd at 667 msg/s, Node at 45)", []string{
			"671,300 deliveries/s, p99 180 ms, nothing lost (highest passing of 3 runs, 580–767 msg/s; 767 failed: p99 310 ms)",
			"45,450 deliveries/s, p99 90 ms, nothing lost (highest passing of 3 runs, 45–60 msg/s; 52 failed: 2 acks missing)",
			"15×", "≥ 10× Node (454,500/s), p99 ≤ 250 ms, nothing lost", "yes"}},
		{p, "the same with 50 members on long-polling: server CPU per 1,000 deliveries (chatd at 575 msg/s, Node at 35)", []string{
			"0.0017 s at 577,000 deliveries/s (p99 150 ms, nothing lost; 2 runs, 500–575 msg/s, all passed: the steps ran out)",
			"0.0210 s at 35,350 deliveries/s (p99 400 ms, nothing lost; no rate passed in 2 runs, 35–40 msg/s; the figures of the last)",
			"0.08× CPU, 16× deliveries/s", "≤ ⅓ of Node's", "yes (Node passed at no rate tried, the ratio is at its lowest, 35 msg/s)"}},
		{l, "fan-out to 1,000 members at 800,000 deliveries/s offered, Node 70,000", []string{
			"798,200 deliveries/s, p99 43 ms, nothing lost (highest passing of 2 runs, 800–920 msg/s; 920 failed: p99 250 ms)",
			"70,000 deliveries/s, p99 60 ms, nothing lost (highest passing of 2 runs, 70–80 msg/s; 80 failed: p99 4400 ms, 12 lost)",
			"11×", "p99 < 250 ms, nothing lost", "yes"}},
	} {
		got := rowOf(t, tc.table, tc.prefix)[1:]
		if strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
			t.Errorf("row %q:\n got %q\nwant %q", tc.prefix, got, tc.want)
		}
	}
	if !strings.Contains(p, "during chat-fanout-chatd#2 0.20 (cores)") {
		t.Errorf("no note of the disturbed step:\n%s", p)
	}
}

// -from prints the tables of a results file with searches: the best
// passing run of each.
func TestFromSearches(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(file, []byte("some text\n"+searchLines), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-from", file}, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	tables := out.String()
	i := strings.Index(tables, "### the socketio library")
	if !strings.HasPrefix(tables, "### chatd against the Node chat server") || i < 0 {
		t.Fatalf("tables:\n%s", tables)
	}
	checkSearchTables(t, tables[:i], tables[i:])
}
