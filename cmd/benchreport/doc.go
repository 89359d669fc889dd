// Command benchreport reruns the benchmarks of docs/performance.md and
// prints their tables: chatd against the Node chat server
// (cmd/chatbench/nodechat.js), then the socketio library (cmd/benchserver)
// against the Node reference server (cmd/chatbench/nodeserver.js). `make
// bench-report` builds the binaries and runs it.
//
// Each row's runs go one after the other in the same invocation, each a
// cmd/chatbench run with -json that starts its server itself on a loopback
// port of its own (-server-cmd, port 0), on a fresh SQLite file in a
// temporary directory; the two-node row starts a second chatd node and
// uses a PostgreSQL schema and a Redis key prefix made for the run and
// removed after it, on a Redis of its own when redis-server is installed.
// With at least two CPUs and taskset available, servers run on one CPU
// and the load on another; in the two-node row, node A (the node measured)
// has the servers' CPU to itself, and node B and the row's Redis run on
// the load's. The raw JSON lines of chatbench
// go to the results file (-out), its text output to the same name with
// .log, and the tables, in Markdown, to standard output and to the same
// name with .md. A table can be printed again from a results file with
// -from.
//
// The fan-out rows (the chat's fan-out, the same with long-polling
// members, the library's fan-out) search each server's highest rate: from
// the row's starting rate, raised by a factor (BENCH_SEARCH_FACTOR, 1.15)
// while runs pass and lowered by it while they fail from the first, up to
// BENCH_SEARCH_STEPS runs (8; at most 2 in a quick report; 0 or 1 for one
// run); a run passes with a p99 of at most 250 ms, nothing lost, every
// message acknowledged and no error. The row shows each server's passing
// run of the highest rate; every run's JSON line is kept, labelled with
// its step ("chat-fanout-chatd#2"), and -from chooses the same runs.
//
// Settings come from flags or, for each, the environment variable named
// in its help: BENCH_CONNS (10,000 connections by default), BENCH_QUICK=1
// (a smoke run of 50 connections and small rooms, whose figures are not
// measurements), BENCH_ACCOUNTS, BENCH_PARTS (product, library or both),
// BENCH_CLUSTER=0 (no two-node row), BENCH_REPEAT (rounds of the
// connection rows, each row then showing its median run and the range of
// its rounds), BENCH_TIMEOUT (the longest one
// chatbench run may take), BENCH_SEARCH_STEPS, BENCH_SEARCH_FACTOR, BENCH_OUT, BENCH_PIN (auto, off, or two CPU
// numbers "SERVER,LOAD"), and DATABASE_URL, REDIS_URL and
// BENCH_REDIS_SERVER (auto, off, or the path of redis-server) for the
// two-node row.
//
// The soft limit of open files is raised for the connections (to 20,000,
// or what BENCH_CONNS needs if more) when the hard limit allows it;
// otherwise benchreport stops with an error before running anything.
//
// Every process it starts is in a process group of its own, and is
// stopped (SIGTERM, then SIGKILL) when its run ends, fails or times out,
// or when benchreport is interrupted (SIGINT, SIGTERM, SIGHUP); a
// chatbench whose parent dies is sent SIGTERM. The exit status is 1 when
// a run failed or the report was interrupted, whether or not the targets
// were met.
package main
