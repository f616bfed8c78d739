// cpu.go — CPU profiles for the processor tests: several profiles of the same program
// (aggregation), and one of a program that spends a good share of its time in the
// profiler's own code (the profiler-overhead metric).
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

// writeCPUs writes n CPU profiles of the same labelled work as cpu-<i>.pb.gz under dir.
func writeCPUs(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := cpuProfile(dir); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(dir, "cpu.pb.gz"), filepath.Join(dir, fmt.Sprintf("cpu-%d.pb.gz", i))); err != nil {
			return err
		}
	}
	return nil
}

// writeSelfProf profiles, at 500 Hz, a program whose one goroutine hashes while another
// keeps writing heap and goroutine profiles (runtime/pprof frames) for 600 ms.
func writeSelfProf(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.MemProfileRate = 64
	allocLoop(20000, 256)
	runtime.SetCPUProfileRate(500) // before StartCPUProfile, which then warns and keeps it
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for end := time.Now().Add(600 * time.Millisecond); time.Now().Before(end); {
			pprof.Lookup("heap").WriteTo(io.Discard, 0)
			pprof.Lookup("goroutine").WriteTo(io.Discard, 0)
		}
	}()
	hashLoop(3, 600*time.Millisecond)
	<-done
	pprof.StopCPUProfile()
	return nil
}
