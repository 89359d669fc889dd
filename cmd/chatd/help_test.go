package main

import "flag"

func errHelp() error { return flag.ErrHelp }
