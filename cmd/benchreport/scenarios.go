package main

import (
	"fmt"
	"strconv"
	"time"
)

// settings are the sizes of a bench-report run.
type settings struct {
	quick    bool
	conns    int // idle connections, storm clients (BENCH_CONNS)
	accounts int // distinct accounts of the accounts row (BENCH_ACCOUNTS)
	hold     time.Duration

	chatMembers, chatSenders, chatPolling int
	chatRate, chatNodeRate                float64 // fan-out, messages/s: where the searches start
	pollRate, pollNodeRate                float64 // with long-polling members
	warmup, duration, drain               time.Duration

	libMembers                        int
	libRate, libNodeRate, libHighRate float64 // messages/s (the first two start searches)
	libWarmup, libDuration            time.Duration

	// The rate searches of the fan-out rows (search.go).
	searchSteps  int     // the most runs of a search; 0 and 1 are one run (BENCH_SEARCH_STEPS)
	repeat       int     // rounds of the connection rows, each a run per server (BENCH_REPEAT)
	searchFactor float64 // between two rates of a search (BENCH_SEARCH_FACTOR)

	product, library bool // which tables (BENCH_PARTS)
	cluster          bool // the two-node row (BENCH_CLUSTER)
	nodeStorm        bool // the reconnect storm against Node too
	pgURL, redisURL  string
	redisServer      string        // the two-node row's own Redis: auto, off or a redis-server path (BENCH_REDIS_SERVER)
	runTimeout       time.Duration // the longest a single chatbench run may take
	connectTimeout   time.Duration // chatbench -connect-timeout
	stormRetryDelay  time.Duration
}

// defaultSettings are the sizes of docs/performance.md, or of a smoke run
// when quick is set.
func defaultSettings(quick bool) settings {
	if quick {
		return settings{quick: true, conns: 50, accounts: 5, hold: 200 * time.Millisecond,
			chatMembers: 50, chatSenders: 5, chatPolling: 5,
			chatRate: 20, chatNodeRate: 20, pollRate: 20, pollNodeRate: 20,
			warmup: 200 * time.Millisecond, duration: time.Second, drain: 3 * time.Second,
			libMembers: 50, libRate: 20, libNodeRate: 20, libHighRate: 40,
			libWarmup: 200 * time.Millisecond, libDuration: time.Second,
			searchSteps: quickSearchSteps, searchFactor: 1.15,
			cluster: true, product: true, library: true, nodeStorm: true,
			runTimeout: 2 * time.Minute, connectTimeout: 30 * time.Second, stormRetryDelay: 20 * time.Millisecond}
	}
	return settings{conns: 10000, accounts: 2000, hold: 2 * time.Second,
		chatMembers: 1010, chatSenders: 10, chatPolling: 50,
		chatRate: 580, chatNodeRate: 60, pollRate: 500, pollNodeRate: 40,
		warmup: 2 * time.Second, duration: 8 * time.Second, drain: 10 * time.Second,
		libMembers: 1000, libRate: 800, libNodeRate: 80, libHighRate: 1000,
		libWarmup: time.Second, libDuration: 10 * time.Second,
		searchSteps: 8, searchFactor: 1.15,
		cluster: true, product: true, library: true, nodeStorm: true,
		runTimeout: 10 * time.Minute, connectTimeout: 60 * time.Second, stormRetryDelay: 100 * time.Millisecond}
}

// quickSearchSteps is the most runs of a rate search in a quick report.
const quickSearchSteps = 2

// The servers a run may measure.
const (
	srvChatd       = "chatd"                // cmd/chatd on a fresh SQLite file
	srvNodeChat    = "nodechat"             // cmd/chatbench/nodechat.js on a fresh SQLite file
	srvCluster     = "cluster"              // node A of two chatd nodes on Redis and PostgreSQL
	srvBench       = "benchserver"          // cmd/benchserver
	srvNodeBench   = "nodeserver"           // cmd/chatbench/nodeserver.js
	clusterSkipped = "chat-cluster-skipped" // the label of a note: why the two nodes did not run
)

// benchRun is one chatbench run: its label (see table.go), the server it
// measures and chatbench's arguments (without -server-cmd and -json); or,
// with a rate, the rate search of a fan-out (search.go) starting at that
// rate, each of whose runs adds -rate to the arguments.
type benchRun struct {
	label  string
	server string
	args   []string
	rate   float64 // > 0: a rate search starting here
}

// runs lists the chatbench runs of a report, in the order they run: each
// scenario against chatd (or benchserver) and then against Node.
func (s settings) runs() []benchRun {
	d := func(v time.Duration) string { return v.String() }
	i := strconv.Itoa
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	common := []string{"-connect-timeout", d(s.connectTimeout)}
	var rs []benchRun
	add := func(label, server string, args ...string) {
		rs = append(rs, benchRun{label: label, server: server, args: append(append([]string{}, common...), args...)})
	}
	search := func(label, server string, rate float64, args ...string) {
		add(label, server, args...)
		rs[len(rs)-1].rate = rate
	}
	if s.product {
		idle := []string{"-proto", "chat", "-mode", "idle", "-n", i(s.conns), "-accounts", "1", "-hold", d(s.hold)}
		acc := []string{"-proto", "chat", "-mode", "idle", "-n", i(s.conns), "-accounts", i(s.accounts), "-hold", d(s.hold)}
		// With BENCH_REPEAT, rounds: in each, every server's run of the
		// connection rows, one after the other, so that a row's figures
		// come from runs side by side in time (see results.get).
		rounds := s.repeat > 1
		round := func(label string, k int) string {
			if rounds {
				return roundLabel(label, k)
			}
			return label
		}
		for k := 1; k <= max(s.repeat, 1); k++ {
			add(round(lChatIdle+"chatd", k), srvChatd, idle...)
			add(round(lChatIdle+"node", k), srvNodeChat, idle...)
			if s.cluster && rounds {
				add(roundLabel(lChatCluster, k), srvCluster, idle...)
			}
			add(round(lChatAccounts+"chatd", k), srvChatd, acc...)
			add(round(lChatAccounts+"node", k), srvNodeChat, acc...)
		}
		add(lChatIdleSmall, srvChatd, "-proto", "chat", "-mode", "idle", "-n", i(max(1, s.conns/10)), "-accounts", "1", "-hold", d(s.hold))
		fan := func(polling int) []string {
			a := []string{"-proto", "chat", "-mode", "fanout", "-n", i(s.chatMembers), "-senders", i(s.chatSenders),
				"-warmup", d(s.warmup), "-duration", d(s.duration), "-drain", d(s.drain)}
			if polling > 0 {
				a = append(a, "-polling", i(polling))
			}
			return a
		}
		search(lChatFanout+"chatd", srvChatd, s.chatRate, fan(0)...)
		search(lChatFanout+"node", srvNodeChat, s.chatNodeRate, fan(0)...)
		search(lChatPolling+"chatd", srvChatd, s.pollRate, fan(s.chatPolling)...)
		search(lChatPolling+"node", srvNodeChat, s.pollNodeRate, fan(s.chatPolling)...)
		if s.cluster && !rounds {
			add(lChatCluster, srvCluster, idle...)
		}
		storm := []string{"-proto", "chat", "-mode", "storm", "-n", i(s.conns), "-retry-delay", d(s.stormRetryDelay)}
		add(lChatStorm+"chatd", srvChatd, storm...)
		if s.nodeStorm {
			add(lChatStorm+"node", srvNodeChat, storm...)
		}
	}
	if s.library {
		idle := []string{"-mode", "idle", "-n", i(s.conns), "-hold", d(s.hold)}
		add(lLibIdle+"go", srvBench, idle...)
		add(lLibIdle+"node", srvNodeBench, idle...)
		fan := []string{"-mode", "fanout", "-n", i(s.libMembers), "-warmup", d(s.libWarmup), "-duration", d(s.libDuration)}
		search(lLibFanout+"go", srvBench, s.libRate, fan...)
		search(lLibFanout+"node", srvNodeBench, s.libNodeRate, fan...)
		add(lLibFanoutHighest, srvBench, append(fan, "-rate", f(s.libHighRate))...)
	}
	return rs
}

// fdsNeeded is the file-descriptor limit each process of a run needs for
// conns connections (the server and the load each hold one per
// connection), with room for the rest (databases, listeners, reconnects).
func fdsNeeded(conns int) uint64 { return uint64(conns) + 2048 }

// describe is a one-line summary of the settings.
func (s settings) describe() string {
	mode := "full"
	if s.quick {
		mode = "quick (a smoke run: its figures are not measurements)"
	}
	search := "one run at each fan-out's rate"
	if s.searchSteps > 1 {
		search = fmt.Sprintf("fan-out rates searched in up to %d runs, ×%g apart", s.searchSteps, s.searchFactor)
	}
	if s.repeat > 1 {
		search += fmt.Sprintf("; the connection rows in %d rounds (medians)", s.repeat)
	}
	return fmt.Sprintf("mode %s; %d connections, %d accounts, chat fan-out to %d (%d senders), library fan-out to %d; %s",
		mode, s.conns, s.accounts, s.chatMembers, s.chatSenders, s.libMembers, search)
}
