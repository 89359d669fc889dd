package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/chatd/chatd/internal/benchresult"
)

// report is the JSON line chatbench -json prints for one run.
type report = benchresult.Report

// results are the reports of a bench-report run by label. A run outside
// a search has one report (a label that ran more than once keeps its
// last); a rate search (search.go) has the reports of its steps, in order,
// under the label of its scenario and server (a step 1 after later steps
// starts a new search, as when results files are put end to end).
type results map[string][]*report

// add adds one run's report.
func (res results) add(r *report) {
	base, step := splitRun(r.Label)
	runs := res[base]
	if step == 0 || len(runs) == 0 {
		res[base] = []*report{r}
		return
	}
	if _, last := splitRun(runs[len(runs)-1].Label); last == 0 || step <= last {
		res[base] = []*report{r}
		return
	}
	res[base] = append(runs, r)
}

// splitRun is splitStep, or splitRound for a label without a step.
func splitRun(label string) (string, int) {
	if base, step := splitStep(label); step > 0 {
		return base, step
	}
	return splitRound(label)
}

// get returns the report a table shows for label: the only run, of a
// search's runs the passing one of the highest rate (or when none passed
// the last one), or of a row's rounds the run of the median connection
// rate (medianRun); nil when label did not run.
func (res results) get(label string) *report {
	runs := res[label]
	if len(runs) == 0 {
		return nil
	}
	if isRounds(runs) {
		return runs[medianRun(runs)]
	}
	if i := bestRun(runs); i >= 0 {
		return runs[i]
	}
	return runs[len(runs)-1]
}

// roundLabel is the label of round k of a row's run (BENCH_REPEAT).
func roundLabel(label string, k int) string { return label + "@" + strconv.Itoa(k) }

// splitRound returns the label of the row and server and the round of a
// run's label, or the label and 0 for a run outside rounds.
func splitRound(label string) (string, int) { return splitNumbered(label, "@") }

// isRounds reports whether runs are the rounds of a row.
func isRounds(runs []*report) bool {
	_, k := splitRound(runs[0].Label)
	return k > 0
}

// medianRun is the index of the run of the median connection rate among
// those without an error (the lower of the two middle ones for an even
// count), or of the last run when all failed.
func medianRun(runs []*report) int {
	var ok []int
	for i, r := range runs {
		if r.OK() {
			ok = append(ok, i)
		}
	}
	if len(ok) == 0 {
		return len(runs) - 1
	}
	slices.SortStableFunc(ok, func(a, b int) int { return cmp.Compare(runs[a].ConnsPerSec, runs[b].ConnsPerSec) })
	return ok[(len(ok)-1)/2]
}

// roundsNote adds to a connection-rate cell the rounds behind it (nothing
// for a single run): how many ran, and the range of their rates.
func roundsNote(cell string, runs []*report) string {
	if len(runs) < 2 || !isRounds(runs) {
		return cell
	}
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, r := range runs {
		if r.OK() {
			lo, hi, n = min(lo, r.ConnsPerSec), max(hi, r.ConnsPerSec), n+1
		}
	}
	if n == 0 {
		return fmt.Sprintf("%s (%d rounds, none without an error)", cell, len(runs))
	}
	return fmt.Sprintf("%s (median of %d rounds, %s–%s)", cell, n, count(int(math.Round(lo))), count(int(math.Round(hi))))
}

// roundsMet counts the rounds in which the two-node row's both conditions
// hold, each round's node A against the same round's single node and
// Node; total is the rounds in which all three ran without an error.
func roundsMet(res results) (met, total int) {
	one := byRound(res[lChatIdle+"chatd"])
	node := byRound(res[lChatIdle+"node"])
	for k, cl := range byRound(res[lChatCluster]) {
		c, n := one[k], node[k]
		if !cl.OK() || !c.OK() || !n.OK() || c.ConnsPerSec <= 0 || n.ConnsPerSec <= 0 {
			continue
		}
		total++
		if cl.ConnsPerSec >= 0.7*c.ConnsPerSec && cl.ConnsPerSec >= 2*n.ConnsPerSec {
			met++
		}
	}
	return met, total
}

// byRound indexes the rounds of a row by their number.
func byRound(runs []*report) map[int]*report {
	m := make(map[int]*report, len(runs))
	for _, r := range runs {
		if _, k := splitRound(r.Label); k > 0 {
			m[k] = r
		}
	}
	return m
}

// bestRun is the index of the passing fan-out run of the highest rate, or
// -1 when none passed.
func bestRun(runs []*report) int {
	best := -1
	for i, r := range runs {
		if fanoutPasses(r) && (best < 0 || r.Rate > runs[best].Rate) {
			best = i
		}
	}
	return best
}

// parseResults reads chatbench's JSON lines (other lines are skipped).
func parseResults(rd io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(text, "{") {
			continue
		}
		var r report
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if r.Label == "" {
			return nil, fmt.Errorf("line %d: a JSON line without a label", line)
		}
		res.add(&r)
	}
	return res, sc.Err()
}

// Labels of the runs (see scenarios.go).
const (
	lChatIdle         = "chat-idle-" // + chatd, node
	lChatIdleSmall    = "chat-idle-small-chatd"
	lChatAccounts     = "chat-accounts-" // + chatd, node
	lChatFanout       = "chat-fanout-"   // + chatd, node
	lChatPolling      = "chat-polling-"  // + chatd, node
	lChatCluster      = "chat-cluster-chatd"
	lChatStorm        = "chat-storm-" // + chatd, node
	lLibIdle          = "lib-idle-"   // + go, node
	lLibFanout        = "lib-fanout-" // + go, node
	lLibFanoutHighest = "lib-fanout-high-go"
)

// row is one line of a table; the met column is computed.
type row struct {
	scenario, ours, node, ratio, target, met string
}

// table is a Markdown table with a title.
type table struct {
	title   string
	columns [2]string // headers of the two servers' columns
	rows    []row
	notes   []string
}

// markdown writes t as Markdown.
func (t *table) markdown(w io.Writer) {
	fmt.Fprintf(w, "### %s\n\n", t.title)
	fmt.Fprintf(w, "| scenario | %s | %s | ratio | target | met? |\n", t.columns[0], t.columns[1])
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n",
			cell(r.scenario), cell(r.ours), cell(r.node), cell(r.ratio), cell(r.target), cell(r.met))
	}
	for i, n := range t.notes {
		if i == 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "- %s\n", n)
	}
	fmt.Fprintln(w)
}

// cell makes s safe in a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return " "
	}
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// productTable is the table of chatd against the Node chat server.
func productTable(res results) *table {
	t := &table{title: "chatd against the Node chat server", columns: [2]string{"chatd", "Node chat"}}
	idleC, idleN := res.get(lChatIdle+"chatd"), res.get(lChatIdle+"node")
	small := res.get(lChatIdleSmall)

	// Memory per idle connection.
	if idleC != nil || idleN != nil {
		r := row{scenario: fmt.Sprintf("memory per idle connection, %s connections (RSS growth / N)", count(nOf(idleC, idleN))),
			target: "≤ 8 KB"}
		c, cok := rssPerConn(idleC)
		n, nok := rssPerConn(idleN)
		r.ours, r.node = kbCell(idleC, c, cok), kbCell(idleN, n, nok)
		if cok && nok {
			r.ratio = ratio(c / n)
		}
		r.met = metIf(cok, c <= 8*1024, "")
		t.rows = append(t.rows, r)
	}

	// Connections per second, one account.
	if idleC != nil || idleN != nil {
		t.rows = append(t.rows, connRateRow(
			fmt.Sprintf("connections/s, %s connecting and joining, one account", count(nOf(idleC, idleN))), idleC, idleN,
			res[lChatIdle+"chatd"], res[lChatIdle+"node"], 3))
	}
	if small != nil {
		r := row{scenario: fmt.Sprintf("the same at %s connections", count(small.N)), ours: rateCell(small)}
		if idleC != nil {
			r.target = fmt.Sprintf("%s within 20%% of %s", count(idleC.N), count(small.N))
		}
		if idleC.OK() && small.OK() && small.ConnsPerSec > 0 {
			q := idleC.ConnsPerSec / small.ConnsPerSec
			r.met = metIf(true, q >= 0.8, ratio(q))
		} else {
			r.met = metIf(false, false, "")
		}
		t.rows = append(t.rows, r)
	}
	accC, accN := res.get(lChatAccounts+"chatd"), res.get(lChatAccounts+"node")
	if accC != nil || accN != nil {
		acc := 0
		for _, r := range []*report{accC, accN} {
			if r != nil {
				acc = r.Accounts
			}
		}
		t.rows = append(t.rows, connRateRow(fmt.Sprintf("the same with %s distinct accounts", count(acc)), accC, accN,
			res[lChatAccounts+"chatd"], res[lChatAccounts+"node"], 3))
	}

	// Fan-out.
	fc, fn := res.get(lChatFanout+"chatd"), res.get(lChatFanout+"node")
	if fc != nil || fn != nil {
		ref := first(fc, fn)
		fcRuns, fnRuns := res[lChatFanout+"chatd"], res[lChatFanout+"node"]
		r := row{scenario: fmt.Sprintf("fan-out to a room of %s, %d senders, acked and stored%s", count(ref.N), ref.Senders, rates(fc, fn)),
			ours: searchNote(fanoutCell(fc), fcRuns), node: searchNote(fanoutCell(fn), fnRuns),
			target: "≥ 10× Node, p99 ≤ 250 ms, nothing lost"}
		if fc.OK() && fn.OK() && fn.DeliveriesPerSec > 0 {
			q := fc.DeliveriesPerSec / fn.DeliveriesPerSec
			r.ratio = ratio(q)
			r.target = fmt.Sprintf("≥ 10× Node (%s/s), p99 ≤ 250 ms, nothing lost", count(int(math.Round(10*fn.DeliveriesPerSec))))
			r.met = metIf(true, q >= 10 && fanoutPasses(fc), noneFor("Node", fnRuns))
		} else {
			r.met = metIf(false, false, "")
		}
		t.rows = append(t.rows, r)
	}

	// Long-polling members: server CPU per 1,000 deliveries.
	pc, pn := res.get(lChatPolling+"chatd"), res.get(lChatPolling+"node")
	if pc != nil || pn != nil {
		ref := first(pc, pn)
		pcRuns, pnRuns := res[lChatPolling+"chatd"], res[lChatPolling+"node"]
		r := row{scenario: fmt.Sprintf("the same with %d members on long-polling: server CPU per 1,000 deliveries%s", ref.Polling, rates(pc, pn)),
			ours: searchNote(cpuCell(pc), pcRuns), node: searchNote(cpuCell(pn), pnRuns), target: "≤ ⅓ of Node's"}
		if pc.OK() && pn.OK() && pc.ServerCPUPer1k != nil && pn.ServerCPUPer1k != nil && *pn.ServerCPUPer1k > 0 {
			q := *pc.ServerCPUPer1k / *pn.ServerCPUPer1k
			r.ratio = ratio(q)
			if pn.DeliveriesPerSec > 0 {
				r.ratio += fmt.Sprintf(" CPU, %s deliveries/s", ratio(pc.DeliveriesPerSec/pn.DeliveriesPerSec))
			}
			r.met = metIf(true, q <= 1.0/3 && nothingLost(pc) && (len(pcRuns) < 2 || fanoutPasses(pc)), noneFor("Node", pnRuns))
		} else {
			r.met = metIf(false, false, "")
		}
		t.rows = append(t.rows, r)
	}

	// Two nodes.
	if cl := res.get(lChatCluster); cl != nil {
		r := row{scenario: fmt.Sprintf("two nodes on Redis + PostgreSQL: connections/s on one node, %s connections", count(cl.N)),
			ours: roundsNote(rateCell(cl), res[lChatCluster]), target: "≥ 0.7× one SQLite node and ≥ 2× Node"}
		if cl.OK() && idleC.OK() && idleN.OK() && idleN.ConnsPerSec > 0 && idleC.ConnsPerSec > 0 {
			vsNode, vsOne := cl.ConnsPerSec/idleN.ConnsPerSec, cl.ConnsPerSec/idleC.ConnsPerSec
			r.ratio = ratio(vsNode)
			r.target = fmt.Sprintf("≥ 0.7× one SQLite node (%s) and ≥ 2× Node (%s)",
				count(int(math.Round(0.7*idleC.ConnsPerSec))), count(int(math.Round(2*idleN.ConnsPerSec))))
			note := fmt.Sprintf("%s of one node", ratio(vsOne))
			if met, total := roundsMet(res); total > 1 {
				note += fmt.Sprintf("; both in %d of %d rounds", met, total)
			}
			r.met = metIf(true, vsNode >= 2 && vsOne >= 0.7, note)
		} else {
			r.met = metIf(false, false, "")
		}
		t.rows = append(t.rows, r)
	}
	if skipped := res.get(clusterSkipped); skipped != nil {
		t.rows = append(t.rows, row{scenario: "two nodes on Redis + PostgreSQL", ours: "not run: " + short(skipped.Error), met: "n/a"})
	}

	// Reconnect storm.
	sc, sn := res.get(lChatStorm+"chatd"), res.get(lChatStorm+"node")
	if sc != nil || sn != nil {
		r := row{scenario: fmt.Sprintf("reconnect storm: %s clients, the server restarted", count(nOf(sc, sn))),
			ours: stormCell(sc), node: stormCell(sn), target: "≤ 5 s"}
		if sc.OK() && sn.OK() && sn.AllBackSeconds > 0 {
			r.ratio = ratio(sc.AllBackSeconds / sn.AllBackSeconds)
		}
		r.met = metIf(sc.OK(), sc.OK() && sc.Back == sc.N && sc.AllBackSeconds <= 5, "")
		t.rows = append(t.rows, r)
	}
	t.notes = disturbed(res, "chat-")
	return t
}

// libraryTable is the table of cmd/benchserver against nodeserver.js.
func libraryTable(res results) *table {
	t := &table{title: "the socketio library (cmd/benchserver) against Node socket.io", columns: [2]string{"benchserver", "Node socket.io"}}
	ig, in := res.get(lLibIdle+"go"), res.get(lLibIdle+"node")
	if ig != nil || in != nil {
		r := row{scenario: fmt.Sprintf("memory per idle WebSocket connection at %s connections (RSS growth / N)", count(nOf(ig, in))),
			target: "≤ 8 KB"}
		g, gok := rssPerConn(ig)
		n, nok := rssPerConn(in)
		r.ours, r.node = kbCell(ig, g, gok), kbCell(in, n, nok)
		if gok && nok {
			r.ratio = ratio(g / n)
		}
		r.met = metIf(gok, g <= 8*1024, "")
		t.rows = append(t.rows, r)

		r = row{scenario: fmt.Sprintf("connections/s while connecting %s that each join a room", count(nOf(ig, in))),
			ours: rateCell(ig), node: rateCell(in), target: "≥ 6,000"}
		if ig.OK() && in.OK() && in.ConnsPerSec > 0 {
			r.ratio = ratio(ig.ConnsPerSec / in.ConnsPerSec)
		}
		r.met = metIf(ig.OK(), ig.OK() && ig.ConnsPerSec >= 6000, "")
		t.rows = append(t.rows, r)
	}
	fg, fn := res.get(lLibFanout+"go"), res.get(lLibFanout+"node")
	if fg != nil || fn != nil {
		ref := first(fg, fn)
		fgRuns, fnRuns := res[lLibFanout+"go"], res[lLibFanout+"node"]
		r := row{scenario: fmt.Sprintf("fan-out to %s members%s", count(ref.N), offered(fg, fn)),
			ours: searchNote(fanoutCell(fg), fgRuns), node: searchNote(fanoutCell(fn), fnRuns), target: "p99 < 250 ms, nothing lost"}
		if fg.OK() && fn.OK() && fn.DeliveriesPerSec > 0 {
			r.ratio = ratio(fg.DeliveriesPerSec / fn.DeliveriesPerSec)
		}
		r.met = metIf(fg.OK(), fanoutPasses(fg), "")
		t.rows = append(t.rows, r)
	}
	if fh := res.get(lLibFanoutHighest); fh != nil {
		r := row{scenario: fmt.Sprintf("fan-out to %s members%s", count(fh.N), offered(fh, nil)),
			ours: fanoutCell(fh), target: "≥ 800,000 deliveries/s"}
		r.met = metIf(fh.OK(), fh.OK() && fh.DeliveriesPerSec >= 800000, "")
		t.rows = append(t.rows, r)
	}
	t.notes = disturbed(res, "lib-")
	return t
}

// searchNote adds to a fan-out cell the rate search behind it (nothing
// for a single run): how many runs were made at which rates, and whether
// the cell's is the highest that passed, with why the rate above it failed.
func searchNote(cell string, runs []*report) string {
	if len(runs) < 2 {
		return cell
	}
	lo, hi := runs[0].Rate, runs[0].Rate
	for _, r := range runs {
		lo, hi = min(lo, r.Rate), max(hi, r.Rate)
	}
	span := fmt.Sprintf("%d runs, %s–%s msg/s", len(runs), rateText(lo), rateText(hi))
	var note string
	if best := bestRun(runs); best < 0 {
		note = fmt.Sprintf("no rate passed in %s; the figures of the last", span)
	} else {
		// The failed run of the lowest rate above the best one.
		var above *report
		for _, r := range runs {
			if r.Rate > runs[best].Rate && !fanoutPasses(r) && (above == nil || r.Rate < above.Rate) {
				above = r
			}
		}
		if above == nil {
			note = fmt.Sprintf("%s, all passed: the steps ran out", span)
		} else {
			note = fmt.Sprintf("highest passing of %s; %s failed: %s", span, rateText(above.Rate), whyFailed(above))
		}
	}
	if c, ok := strings.CutSuffix(cell, ")"); ok && !strings.HasPrefix(cell, "failed: ") {
		return c + "; " + note + ")"
	}
	return cell + " (" + note + ")"
}

// noneFor is the met column's detail when none of a server's search runs
// passed, whose figures the ratio then compares.
func noneFor(server string, runs []*report) string {
	if len(runs) < 2 || bestRun(runs) >= 0 {
		return ""
	}
	return fmt.Sprintf("%s passed at no rate tried, the ratio is at its lowest, %s msg/s", server, rateText(runs[len(runs)-1].Rate))
}

// whyFailed says which condition a fan-out run missed.
func whyFailed(r *report) string {
	if !r.OK() {
		return "failed: " + short(r.Error)
	}
	var why []string
	if !p99Met(r) {
		why = append(why, "p99 "+msCell(r.P99Ms))
	}
	if !nothingLost(r) {
		why = append(why, lostCell(r))
	}
	return strings.Join(why, ", ")
}

// rateText formats a rate of messages per second.
func rateText(v float64) string {
	if v >= 10 {
		return count(int(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// connRateRow compares the connection rates of two idle runs against a
// target of at least want times Node's.
func connRateRow(scenario string, c, n *report, cRuns, nRuns []*report, want float64) row {
	r := row{scenario: scenario, ours: roundsNote(rateCell(c), cRuns), node: roundsNote(rateCell(n), nRuns), target: fmt.Sprintf("≥ %g× Node", want)}
	if c.OK() && n.OK() && n.ConnsPerSec > 0 {
		q := c.ConnsPerSec / n.ConnsPerSec
		r.ratio = ratio(q)
		r.target = fmt.Sprintf("≥ %g× Node (%s)", want, count(int(math.Round(want*n.ConnsPerSec))))
		r.met = metIf(true, q >= want, "")
	} else {
		r.met = metIf(false, false, "")
	}
	return r
}

// disturbed notes the runs (of labels with prefix) during which other
// processes used 0.10 of a core or more, the bound beyond which
// docs/performance.md discards a run.
func disturbed(res results, prefix string) []string {
	var runs []string
	for _, label := range sortedLabels(res) {
		for _, r := range res[label] {
			if strings.HasPrefix(label, prefix) && r.OtherCPU != nil && *r.OtherCPU >= 0.10 {
				runs = append(runs, fmt.Sprintf("%s %.2f", r.Label, *r.OtherCPU))
			}
		}
	}
	if len(runs) == 0 {
		return nil
	}
	return []string{"other processes used 0.10 of a core or more during " + strings.Join(runs, ", ") +
		" (cores); such runs are noisy and docs/performance.md discards them"}
}

// first returns the first non-nil report.
func first(rs ...*report) *report {
	for _, r := range rs {
		if r != nil {
			return r
		}
	}
	return &report{}
}

// nOf is the connection count of the first report present.
func nOf(rs ...*report) int { return first(rs...).N }

func rssPerConn(r *report) (float64, bool) {
	if !r.OK() || r.RSSPerConn == nil {
		return 0, false
	}
	return *r.RSSPerConn, true
}

func p99(r *report) float64 {
	if r.P99Ms == nil {
		return math.Inf(1)
	}
	return *r.P99Ms
}

// nothingLost reports whether every message was sent, every delivery
// arrived and, in the chat, every message was acknowledged with an id.
func nothingLost(r *report) bool {
	return r.Lost != nil && *r.Lost == 0 && (r.AcksMissing == nil || *r.AcksMissing == 0) && r.AckErrors == 0 && r.SendErrors == 0
}

// metIf is the met column: "yes" or "no" with an optional detail, or
// "no (failed)" when the figures are missing.
func metIf(have, met bool, detail string) string {
	s := "no"
	switch {
	case !have:
		return "no (not measured)"
	case met:
		s = "yes"
	}
	if detail != "" {
		s += " (" + detail + ")"
	}
	return s
}

// errCell is the cell of a failed or missing run.
func errCell(r *report) string {
	if r == nil {
		return ""
	}
	return "failed: " + short(r.Error)
}

// short cuts an error message for a table cell.
func short(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if r := []rune(msg); len(r) > 100 {
		return string(r[:97]) + "..."
	}
	return msg
}

func kbCell(r *report, v float64, ok bool) string {
	if !ok {
		if r.OK() {
			return "n/a"
		}
		return errCell(r)
	}
	return fmt.Sprintf("%.1f KB", v/1024)
}

func rateCell(r *report) string {
	if !r.OK() {
		return errCell(r)
	}
	return count(int(math.Round(r.ConnsPerSec)))
}

func fanoutCell(r *report) string {
	if !r.OK() {
		return errCell(r)
	}
	return fmt.Sprintf("%s deliveries/s, p99 %s, %s", count(int(math.Round(r.DeliveriesPerSec))), msCell(r.P99Ms), lostCell(r))
}

func cpuCell(r *report) string {
	if !r.OK() {
		return errCell(r)
	}
	if r.ServerCPUPer1k == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.4f s at %s deliveries/s (p99 %s, %s)", *r.ServerCPUPer1k, count(int(math.Round(r.DeliveriesPerSec))), msCell(r.P99Ms), lostCell(r))
}

func stormCell(r *report) string {
	if !r.OK() {
		return errCell(r)
	}
	return fmt.Sprintf("%d of %d back %.2f s after it listens again (p50 %s, p99 %s)",
		r.Back, r.N, r.AllBackSeconds, msCell(r.P50Ms), msCell(r.P99Ms))
}

func lostCell(r *report) string {
	if nothingLost(r) {
		return "nothing lost"
	}
	var parts []string
	if r.Lost != nil && *r.Lost != 0 {
		parts = append(parts, fmt.Sprintf("%s lost", count(int(*r.Lost))))
	}
	if r.AcksMissing != nil && *r.AcksMissing != 0 {
		parts = append(parts, fmt.Sprintf("%d acks missing", *r.AcksMissing))
	}
	if r.AckErrors != 0 {
		parts = append(parts, fmt.Sprintf("%d acked with an error", r.AckErrors))
	}
	if r.SendErrors != 0 {
		parts = append(parts, fmt.Sprintf("%d not sent", r.SendErrors))
	}
	if len(parts) == 0 {
		return "losses unknown"
	}
	return strings.Join(parts, ", ")
}

// rates describes the message rates of two chat fan-out runs.
func rates(c, n *report) string {
	var parts []string
	if c != nil {
		parts = append(parts, fmt.Sprintf("chatd at %s msg/s", count(int(math.Round(c.Rate)))))
	}
	if n != nil {
		parts = append(parts, fmt.Sprintf("Node at %s", count(int(math.Round(n.Rate)))))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// offered describes the deliveries offered per second of library fan-out
// runs (rate × members).
func offered(g, n *report) string {
	var parts []string
	if g != nil {
		parts = append(parts, fmt.Sprintf("%s deliveries/s offered", count(int(math.Round(g.Rate*float64(g.N))))))
	}
	if n != nil {
		parts = append(parts, fmt.Sprintf("Node %s", count(int(math.Round(n.Rate*float64(n.N))))))
	}
	if len(parts) == 0 {
		return ""
	}
	return " at " + strings.Join(parts, ", ")
}

func msCell(v *float64) string {
	if v == nil {
		return "n/a"
	}
	if *v >= 10 {
		return fmt.Sprintf("%.0f ms", *v)
	}
	return fmt.Sprintf("%.1f ms", *v)
}

// ratio formats a ratio of chatd's (or benchserver's) figure to Node's.
func ratio(q float64) string {
	switch {
	case math.IsInf(q, 0) || math.IsNaN(q):
		return "n/a"
	case q >= 10:
		return fmt.Sprintf("%.0f×", q)
	default:
		return fmt.Sprintf("%.2f×", q)
	}
}

// count formats n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// sortedLabels returns the labels of res in order.
func sortedLabels(res results) []string {
	labels := make([]string, 0, len(res))
	for l := range res {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	return labels
}
