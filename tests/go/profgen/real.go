// real.go — real profiles written by runtime/pprof: cpu (with pprof.Do string labels), heap,
// allocs, goroutine (with labels), mutex, block and threadcreate.
package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var sink []byte

//go:noinline
func hashLoop(seed byte, d time.Duration) int {
	h := sha256.Sum256([]byte{seed})
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
		for k := 0; k < 200; k++ {
			h = sha256.Sum256(h[:])
		}
	}
	return n + int(h[0])
}

//go:noinline
func allocLoop(n, size int) {
	for k := 0; k < n; k++ {
		sink = make([]byte, size+k%7)
	}
}

func writeLookup(dir, name string) error {
	f, err := os.Create(filepath.Join(dir, name+".pb.gz"))
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup(name).WriteTo(f, 0)
}

func cpuProfile(dir string) error {
	f, err := os.Create(filepath.Join(dir, "cpu.pb.gz"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctx := context.Background()
			pprof.Do(ctx, pprof.Labels("worker", fmt.Sprint(w), "phase", "hash"), func(ctx context.Context) {
				hashLoop(byte(w), 250*time.Millisecond)
				pprof.Do(ctx, pprof.Labels("phase", "alloc", "kind", "nested"), func(context.Context) {
					allocLoop(200000, 64)
					hashLoop(byte(w+7), 150*time.Millisecond)
				})
			})
		}(w)
	}
	wg.Wait()
	pprof.StopCPUProfile()
	return nil
}

// contention runs goroutines that contend on a mutex and block on channels.
func contention() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				mu.Lock()
				time.Sleep(200 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; k < 20; k++ {
			<-ch
		}
	}()
	for k := 0; k < 20; k++ {
		time.Sleep(time.Millisecond)
		ch <- k
	}
	wg.Wait()
}

func writeReal(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	runtime.MemProfileRate = 512
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)

	if err := cpuProfile(dir); err != nil {
		return err
	}
	contention()
	allocLoop(5000, 1024)
	runtime.GC()

	// Parked goroutines with labels for the goroutine profile.
	stop := make(chan struct{})
	var ready sync.WaitGroup
	for w := 0; w < 3; w++ {
		ready.Add(1)
		go pprof.Do(context.Background(), pprof.Labels("parked", fmt.Sprint(w)), func(context.Context) {
			ready.Done()
			<-stop
		})
	}
	ready.Wait()
	for _, name := range []string{"heap", "allocs", "goroutine", "mutex", "block", "threadcreate"} {
		if err := writeLookup(dir, name); err != nil {
			close(stop)
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	close(stop)
	return nil
}
