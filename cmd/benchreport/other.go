//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "benchreport: Linux only (it reads /proc and pins processes with taskset)")
	os.Exit(1)
}
