// large.go — a large REAL heap profile for the benchmark: with runtime.MemProfileRate = 1
// (set in main) every allocation is recorded, and allocations are made from 2^depth distinct
// call stacks built by recursive binary choice between two non-inlined functions.
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

const largeDepth = 18 // 262144 distinct stacks

var keep [][]byte

//go:noinline
func left(d int, path uint32) {
	if d == 0 {
		keep = append(keep, make([]byte, 16+int(path%64)))
		return
	}
	if path&1 == 0 {
		left(d-1, path>>1)
	} else {
		right(d-1, path>>1)
	}
}

//go:noinline
func right(d int, path uint32) {
	if d == 0 {
		keep = append(keep, make([]byte, 32+int(path%32)))
		return
	}
	if path&1 == 0 {
		left(d-1, path>>1)
	} else {
		right(d-1, path>>1)
	}
}

func writeLarge(file string) error {
	for p := uint32(0); p < 1<<largeDepth; p++ {
		left(largeDepth, p)
	}
	runtime.GC()
	runtime.GC()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	err = pprof.Lookup("heap").WriteTo(f, 0)
	runtime.KeepAlive(keep)
	return err
}
