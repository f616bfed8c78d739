// profgen writes pprof profiles for profgate's round-trip tests and benchmark.
//
//	profgen real DIR    real profiles from runtime/pprof (cpu, heap, allocs, goroutine, mutex,
//	                    block, threadcreate), written as Go writes them (gzipped)
//	profgen edge DIR    hand-encoded edge-case profiles (see edge.go)
//	profgen pairs DIR   pairs of profiles for the comparator self-test: eq-NAME.{a,b}.pb.gz are
//	                    semantically equal, ne-NAME.{a,b}.pb.gz differ in exactly one respect
//	profgen large FILE  a large real heap profile (>= 50k samples, >= 5 MB uncompressed)
//	profgen cpus DIR    three CPU profiles of the same labelled work, cpu-{0,1,2}.pb.gz
//	profgen selfprof FILE  a CPU profile of a program busy in runtime/pprof itself
//	profgen busy SIZE FILE  a label-heavy busy-service profile, SIZE small|medium|large
//	                    (about 50 KB, 1 MB, 5 MB uncompressed; see busy.go)
//
// Standard library only; output is deterministic except for what the Go runtime records.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	if len(os.Args) != 3 && !(len(os.Args) == 4 && os.Args[1] == "busy") {
		fmt.Fprintln(os.Stderr, "usage: profgen real|edge|pairs DIR | profgen large FILE | profgen busy SIZE FILE")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "real":
		err = writeReal(os.Args[2])
	case "edge":
		err = writeEdge(os.Args[2])
	case "pairs":
		err = writePairs(os.Args[2])
	case "large":
		// Record every allocation; set before anything worth profiling is allocated.
		runtime.MemProfileRate = 1
		err = writeLarge(os.Args[2])
	case "busy":
		err = writeBusy(os.Args[2], os.Args[3])
	case "cpus":
		err = writeCPUs(os.Args[2], 3)
	case "selfprof":
		err = writeSelfProf(os.Args[2])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "profgen:", err)
		os.Exit(1)
	}
}
