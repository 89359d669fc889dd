package main

import (
	"math"
	"strconv"
	"strings"
)

// The fan-out rows search each server's highest rate: a run at the
// starting rate; while runs pass, the rate is raised by the factor and run
// again, up to the first run that fails; when the first run fails, the
// rate is lowered by the factor until a run passes. A search makes at most
// its number of steps of runs, and stops at a run that broke (an error:
// another rate would not tell more). The row shows the passing run of the
// highest rate.

// verdict is what a search learns from one run.
type verdict int

const (
	fail   verdict = iota // ran, and missed the latency or loss condition
	pass                  // ran and met it
	broken                // did not run to the end: the search stops
)

func (v verdict) String() string {
	switch v {
	case pass:
		return "passed"
	case fail:
		return "failed"
	}
	return "broke"
}

// rateSearch runs try at the rates of a search starting at start, with
// steps runs at most (0 and 1 are one run) and factor between two rates,
// and returns the rates tried, in order, with their verdicts, and the index
// of the highest rate that passed (-1 when none did). try gets the step
// (1 for the first run) and the rate.
func rateSearch(start, factor float64, steps int, try func(step int, rate float64) verdict) (rates []float64, verdicts []verdict, best int) {
	best = -1
	steps = max(steps, 1)
	rate := start
	up := true
	for step := 1; step <= steps; step++ {
		v := try(step, rate)
		rates, verdicts = append(rates, rate), append(verdicts, v)
		if v == pass && (best < 0 || rate > rates[best]) {
			best = len(rates) - 1
		}
		if step == 1 {
			up = v == pass
		}
		if v == broken || (up && v == fail) || (!up && v == pass) {
			break
		}
		rate = nextRate(rate, factor, up)
	}
	return rates, verdicts, best
}

// nextRate is the rate after rate, times factor (up) or divided by it,
// rounded to a whole number of messages per second (to a tenth below 10),
// and never the same rate again.
func nextRate(rate, factor float64, up bool) float64 {
	next := rate / factor
	if up {
		next = rate * factor
	}
	rounded, unit := math.Round(next), 1.0
	if next < 10 {
		rounded, unit = math.Round(next*10)/10, 0.1
	}
	switch {
	case up && rounded <= rate:
		rounded = math.Round((rate+unit)*10) / 10
	case !up && rounded >= rate:
		rounded = math.Round((rate-unit)*10) / 10
	}
	if rounded <= 0 {
		return next
	}
	return rounded
}

// stepLabel is the label of a search's run: its scenario and server's
// label, "#" and the step.
func stepLabel(label string, step int) string { return label + "#" + strconv.Itoa(step) }

// splitStep returns the label of the scenario and server and the step of
// a run's label, or the label and 0 for a run outside a search.
func splitStep(label string) (string, int) { return splitNumbered(label, "#") }

// splitNumbered splits a label ending in sep and a number from 1 up into
// the rest and the number; another label is returned whole, with 0.
func splitNumbered(label, sep string) (string, int) {
	base, s, ok := strings.Cut(label, sep)
	if !ok {
		return label, 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || base == "" {
		return label, 0
	}
	return base, n
}

// fanoutPasses reports whether a fan-out run meets the latency and loss
// conditions of its row: no error, every delivery (and in the chat every
// ack), and the p99 of p99Met.
func fanoutPasses(r *report) bool { return r.OK() && nothingLost(r) && p99Met(r) }

// p99Met reports whether a run's p99 latency is at most 250 ms (below
// 250 ms for the library, as its target says).
func p99Met(r *report) bool {
	if r.P99Ms == nil {
		return false
	}
	if r.Proto == "bench" {
		return *r.P99Ms < 250
	}
	return *r.P99Ms <= 250
}

// judge is the verdict of a search's run: one that failed to run (an
// error, such as a connection refused or the run's time-out) breaks the
// search.
func judge(r *report) verdict {
	switch {
	case !r.OK():
		return broken
	case fanoutPasses(r):
		return pass
	}
	return fail
}
