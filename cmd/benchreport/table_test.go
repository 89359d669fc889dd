package main

import (
	"bytes"
	"strings"
	"testing"
)

// sampleLines are chatbench -json lines of a full run (figures as in
// docs/performance.md), with a text line and a failed run among them.
const sampleLines = `mode idle, proto chat: 10000 of 10000 connections open (each joined the room), 1 accounts
{"label":"chat-idle-chatd","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":6200.4,"rssPerConn":6553.6,"serverCPU":0.95,"loadCPU":0.8,"otherCPU":0.02}
{"label":"chat-idle-node","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":1685,"rssPerConn":17920,"serverCPU":1,"loadCPU":0.3,"otherCPU":0.03}
{"label":"chat-idle-small-chatd","mode":"idle","proto":"chat","n":1000,"accounts":1,"opened":1000,"connsPerSec":5540,"rssPerConn":9000,"loadCPU":0.5,"otherCPU":0.01}
{"label":"chat-accounts-chatd","mode":"idle","proto":"chat","n":10000,"accounts":2000,"opened":10000,"connsPerSec":4479,"rssPerConn":7000,"loadCPU":0.5,"otherCPU":0.25}
{"label":"chat-accounts-node","mode":"idle","proto":"chat","n":10000,"accounts":2000,"opened":10000,"connsPerSec":1665,"rssPerConn":18000,"loadCPU":0.5,"otherCPU":0.01}
{"label":"chat-fanout-chatd","mode":"fanout","proto":"chat","n":1010,"accounts":1,"senders":10,"rate":580,"sent":5800,"lost":0,"acksMissing":0,"deliveriesPerSec":583881,"p99Ms":117.2,"loadCPU":0.9,"serverCPU":0.8,"otherCPU":0.01,"serverCPUPer1000":0.0014}
{"label":"chat-fanout-node","mode":"fanout","proto":"chat","n":1010,"accounts":1,"senders":10,"rate":60,"sent":600,"lost":0,"acksMissing":0,"deliveriesPerSec":54523,"p99Ms":1490,"loadCPU":0.2,"serverCPU":1,"otherCPU":0.01,"serverCPUPer1000":0.018}
{"label":"chat-polling-chatd","mode":"fanout","proto":"chat","n":1010,"accounts":1,"senders":10,"polling":50,"rate":500,"lost":0,"acksMissing":0,"deliveriesPerSec":500000,"p99Ms":94,"loadCPU":0.9,"serverCPUPer1000":0.0018}
{"label":"chat-polling-node","mode":"fanout","proto":"chat","n":1010,"accounts":1,"senders":10,"polling":50,"rate":40,"lost":3,"acksMissing":1,"deliveriesPerSec":40000,"p99Ms":300,"loadCPU":0.1,"serverCPUPer1000":0.0215}
{"label":"chat-cluster-chatd","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":3900,"rssPerConn":7000,"loadCPU":0.6}
{"label":"chat-storm-chatd","mode":"storm","proto":"chat","n":10000,"accounts":1,"back":10000,"attempts":10500,"p50Ms":1030,"p99Ms":2210,"maxMs":2230,"allBackSeconds":2.23,"loadCPU":0}
{"label":"chat-storm-node","mode":"storm","proto":"chat","error":"9000 of 10000 clients back within 1m0s: context deadline exceeded","n":10000,"accounts":1,"back":9000,"loadCPU":0}
{"label":"lib-idle-go","mode":"idle","proto":"bench","client":"raw","n":10000,"opened":10000,"connsPerSec":6400,"rssPerConn":6553.6,"loadCPU":0.8}
{"label":"lib-idle-node","mode":"idle","proto":"bench","client":"raw","n":10000,"opened":10000,"connsPerSec":2200,"rssPerConn":15564.8,"loadCPU":0.3}
{"label":"lib-fanout-go","mode":"fanout","proto":"bench","client":"raw","n":1000,"senders":1,"rate":800,"lost":0,"deliveriesPerSec":798200,"p99Ms":43,"loadCPU":0.9}
{"label":"lib-fanout-node","mode":"fanout","proto":"bench","client":"raw","n":1000,"senders":1,"rate":80,"lost":12,"deliveriesPerSec":80600,"p99Ms":4400,"loadCPU":0.3}
{"label":"lib-fanout-high-go","mode":"fanout","proto":"bench","client":"raw","n":1000,"senders":1,"rate":1000,"lost":0,"deliveriesPerSec":996500,"p99Ms":34,"loadCPU":0.9}
`

func sampleTables(t *testing.T) (string, string) {
	t.Helper()
	res, err := parseResults(strings.NewReader(sampleLines))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 17 {
		t.Fatalf("%d results, want 17", len(res))
	}
	var p, l bytes.Buffer
	productTable(res).markdown(&p)
	libraryTable(res).markdown(&l)
	return p.String(), l.String()
}

// rowOf returns the table line that starts with the scenario prefix.
func rowOf(t *testing.T, table, prefix string) []string {
	t.Helper()
	for line := range strings.Lines(table) {
		if strings.HasPrefix(line, "| "+prefix) {
			cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), " | ")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells
		}
	}
	t.Fatalf("no row %q in\n%s", prefix, table)
	return nil
}

func TestProductTable(t *testing.T) {
	p, _ := sampleTables(t)
	if !strings.Contains(p, "| scenario | chatd | Node chat | ratio | target | met? |\n|---|---|---|---|---|---|\n") {
		t.Errorf("header:\n%s", p)
	}
	for _, tc := range []struct {
		prefix string
		want   []string // the cells after the scenario
	}{
		{"memory per idle connection, 10,000", []string{"6.4 KB", "17.5 KB", "0.37×", "≤ 8 KB", "yes"}},
		{"connections/s, 10,000 connecting", []string{"6,200", "1,685", "3.68×", "≥ 3× Node (5,055)", "yes"}},
		{"the same at 1,000", []string{"5,540", "", "", "10,000 within 20% of 1,000", "yes (1.12×)"}},
		{"the same with 2,000 distinct accounts", []string{"4,479", "1,665", "2.69×", "≥ 3× Node (4,995)", "no"}},
		{"fan-out to a room of 1,010, 10 senders, acked and stored (chatd at 580 msg/s, Node at 60)",
			[]string{"583,881 deliveries/s, p99 117 ms, nothing lost", "54,523 deliveries/s, p99 1490 ms, nothing lost", "11×",
				"≥ 10× Node (545,230/s), p99 ≤ 250 ms, nothing lost", "yes"}},
		{"the same with 50 members on long-polling", []string{"0.0018 s at 500,000 deliveries/s (p99 94 ms, nothing lost)",
			"0.0215 s at 40,000 deliveries/s (p99 300 ms, 3 lost, 1 acks missing)", "0.08× CPU, 12× deliveries/s", "≤ ⅓ of Node's", "yes"}},
		{"two nodes on Redis + PostgreSQL: connections/s on one node", []string{"3,900", "", "2.31×",
			"≥ 0.7× one SQLite node (4,340) and ≥ 2× Node (3,370)", "no (0.63× of one node)"}},
		{"reconnect storm: 10,000 clients", []string{"10000 of 10000 back 2.23 s after it listens again (p50 1030 ms, p99 2210 ms)",
			"failed: 9000 of 10000 clients back within 1m0s: context deadline exceeded", "", "≤ 5 s", "yes"}},
	} {
		got := rowOf(t, p, tc.prefix)[1:]
		if strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
			t.Errorf("row %q:\n got %q\nwant %q", tc.prefix, got, tc.want)
		}
	}
	if !strings.Contains(p, "other processes used 0.10 of a core or more during chat-accounts-chatd 0.25 (cores)") {
		t.Errorf("no note of the disturbed run:\n%s", p)
	}
}

func TestLibraryTable(t *testing.T) {
	_, l := sampleTables(t)
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"memory per idle WebSocket connection at 10,000", []string{"6.4 KB", "15.2 KB", "0.42×", "≤ 8 KB", "yes"}},
		{"connections/s while connecting 10,000", []string{"6,400", "2,200", "2.91×", "≥ 6,000", "yes"}},
		{"fan-out to 1,000 members at 800,000 deliveries/s offered, Node 80,000",
			[]string{"798,200 deliveries/s, p99 43 ms, nothing lost", "80,600 deliveries/s, p99 4400 ms, 12 lost", "9.90×", "p99 < 250 ms, nothing lost", "yes"}},
		{"fan-out to 1,000 members at 1,000,000 deliveries/s offered", []string{"996,500 deliveries/s, p99 34 ms, nothing lost", "", "", "≥ 800,000 deliveries/s", "yes"}},
	} {
		got := rowOf(t, l, tc.prefix)[1:]
		if strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
			t.Errorf("row %q:\n got %q\nwant %q", tc.prefix, got, tc.want)
		}
	}
	if strings.Contains(l, "other processes") {
		t.Errorf("a note without a disturbed run:\n%s", l)
	}
}

// A run that failed or is missing makes its rows unmet, never a crash.
func TestTableMissingRuns(t *testing.T) {
	res, err := parseResults(strings.NewReader(`{"label":"chat-idle-chatd","mode":"idle","proto":"chat","error":"connection 3: EOF","n":100}` + "\n" +
		`{"label":"lib-fanout-high-go","mode":"fanout","proto":"bench","n":10,"error":"boom | bang"}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	productTable(res).markdown(&b)
	libraryTable(res).markdown(&b)
	out := b.String()
	for _, want := range []string{
		"| memory per idle connection, 100 connections (RSS growth / N) | failed: connection 3: EOF |   |   | ≤ 8 KB | no (not measured) |",
		"| connections/s, 100 connecting and joining, one account | failed: connection 3: EOF |   |   | ≥ 3× Node | no (not measured) |",
		`failed: boom \| bang`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "fan-out to a room") {
		t.Errorf("a row for runs that did not run:\n%s", out)
	}
}

func TestParseResultsErrors(t *testing.T) {
	if _, err := parseResults(strings.NewReader("text\n{\"mode\":\"idle\"}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a line without a label: err = %v", err)
	}
	if _, err := parseResults(strings.NewReader("{not json\n")); err == nil {
		t.Error("bad JSON: no error")
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 583881: "583,881", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

// roundLines are the connection rows in three rounds (BENCH_REPEAT=3):
// each row shows the run of its median rate, the range of its rounds,
// and the two-node row how many rounds met both of its conditions, each
// round against the single node and Node of the same round.
const roundLines = `{"label":"chat-idle-chatd@1","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":6000,"rssPerConn":7000}
{"label":"chat-idle-node@1","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":1800,"rssPerConn":17000}
{"label":"chat-cluster-chatd@1","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":4000,"rssPerConn":7000}
{"label":"chat-idle-chatd@2","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":5000,"rssPerConn":7100}
{"label":"chat-idle-node@2","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":1700,"rssPerConn":17000}
{"label":"chat-cluster-chatd@2","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":3000,"rssPerConn":7000}
{"label":"chat-idle-chatd@3","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":7000,"rssPerConn":7200}
{"label":"chat-idle-node@3","mode":"idle","proto":"chat","error":"server exited","n":10000,"accounts":1}
{"label":"chat-cluster-chatd@3","mode":"idle","proto":"chat","n":10000,"accounts":1,"opened":10000,"connsPerSec":5000,"rssPerConn":7000}
`

func TestRounds(t *testing.T) {
	res, err := parseResults(strings.NewReader(roundLines))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res[lChatIdle+"chatd"]); got != 3 {
		t.Fatalf("%d rounds of chat-idle-chatd, want 3", got)
	}
	if r := res.get(lChatIdle + "chatd"); r.Label != "chat-idle-chatd@1" {
		t.Errorf("chat-idle-chatd shows %s, want the median round (@1, 6,000/s)", r.Label)
	}
	if r := res.get(lChatIdle + "node"); r.Label != "chat-idle-node@2" {
		t.Errorf("chat-idle-node shows %s, want the lower middle of its two rounds without an error (@2)", r.Label)
	}
	var b bytes.Buffer
	productTable(res).markdown(&b)
	table := b.String()
	conn := rowOf(t, table, "connections/s, 10,000 connecting")
	if conn[1] != "6,000 (median of 3 rounds, 5,000–7,000)" || conn[2] != "1,700 (median of 2 rounds, 1,700–1,800)" {
		t.Errorf("connections/s row %q", conn)
	}
	// Node A's median (4,000) over one node's (6,000) is 0.67×; round 1
	// (4,000 / 6,000) and round 2 (3,000 / 5,000) miss 0.7×, round 3 has
	// no Node run.
	cl := rowOf(t, table, "two nodes on Redis")
	if cl[1] != "4,000 (median of 3 rounds, 3,000–5,000)" || !strings.HasPrefix(cl[5], "no (0.67× of one node; both in 0 of 2 rounds)") {
		t.Errorf("two-node row %q", cl)
	}
	// One round passing both.
	res[lChatCluster][1].ConnsPerSec = 3600 // round 2: 0.72× one node, 2.1× Node
	b.Reset()
	productTable(res).markdown(&b)
	if cl := rowOf(t, b.String(), "two nodes on Redis"); !strings.Contains(cl[5], "both in 1 of 2 rounds") {
		t.Errorf("two-node row %q", cl)
	}
}

func TestRoundLabels(t *testing.T) {
	for _, c := range []struct {
		label, base string
		k           int
	}{
		{"chat-idle-chatd@2", "chat-idle-chatd", 2},
		{"chat-idle-chatd", "chat-idle-chatd", 0},
		{"chat-idle-chatd@0", "chat-idle-chatd@0", 0},
		{"chat-idle-chatd@x", "chat-idle-chatd@x", 0},
		{"@3", "@3", 0},
	} {
		if base, k := splitRound(c.label); base != c.base || k != c.k {
			t.Errorf("splitRound(%q) = %q, %d; want %q, %d", c.label, base, k, c.base, c.k)
		}
	}
	s := defaultSettings(true)
	s.repeat = 2
	var rounds []string
	for _, br := range s.runs() {
		if _, k := splitRound(br.label); k > 0 {
			rounds = append(rounds, br.label)
		}
	}
	want := []string{"chat-idle-chatd@1", "chat-idle-node@1", "chat-cluster-chatd@1", "chat-accounts-chatd@1", "chat-accounts-node@1",
		"chat-idle-chatd@2", "chat-idle-node@2", "chat-cluster-chatd@2", "chat-accounts-chatd@2", "chat-accounts-node@2"}
	if strings.Join(rounds, " ") != strings.Join(want, " ") {
		t.Errorf("rounds %q, want %q", rounds, want)
	}
}
