// tracelabels writes a real Go CPU profile whose samples carry trace and span ids as pprof
// labels, set with pprof.Do the way tracing integrations do: for the tracelink processor's
// runtime test.
//
//	tracelabels FILE   CPU profile (gzipped, as Go writes it) of three labelled workloads:
//	  handleCart:   trace_id=0af7651916cd43dd8448eb211c80319c span_id=b7ad6b7169203331 (hex)
//	  handleOrders: trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 (hex)
//	  ddHandler:    "span id"=12345 "local root span id"=12345 (Datadog, decimal; no trace id)
//
// Standard library only.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

// spin burns CPU for d in a loop the compiler cannot remove.
//
//go:noinline
func spin(d time.Duration) uint64 {
	var x uint64 = 1
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

//go:noinline
func handleCart(d time.Duration) uint64 { return spin(d) }

//go:noinline
func handleOrders(d time.Duration) uint64 { return spin(d) }

//go:noinline
func ddHandler(d time.Duration) uint64 { return spin(d) }

var sink uint64

func run(wg *sync.WaitGroup, labels pprof.LabelSet, f func(time.Duration) uint64) {
	defer wg.Done()
	pprof.Do(context.Background(), labels, func(context.Context) { sink += f(700 * time.Millisecond) })
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracelabels FILE")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go run(&wg, pprof.Labels("trace_id", "0af7651916cd43dd8448eb211c80319c", "span_id", "b7ad6b7169203331"), handleCart)
	go run(&wg, pprof.Labels("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736", "span_id", "00f067aa0ba902b7"), handleOrders)
	go run(&wg, pprof.Labels("span id", "12345", "local root span id", "12345"), ddHandler)
	wg.Wait()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
