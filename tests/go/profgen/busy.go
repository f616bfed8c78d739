// busy.go — a label-heavy profile shaped like a busy Go service with trace correlation, for
// the benchmark: CPU-profile sample types, 4 mappings, functions spread over packages, inline
// frames on a third of the locations, trace_id/span_id string labels on half the samples and
// a few numeric labels with units. Deterministic (fixed seed); "large" is about 51k samples,
// 42k locations, 8k functions, 5 MB uncompressed; "medium" and "small" scale the counts down
// to about 1 MB and 50 KB.
package main

import (
	"fmt"
	"math/rand"
)

// busyScale is the fraction of the large shape's counts for each size name.
var busyScale = map[string]float64{"large": 1, "medium": 0.2, "small": 0.01}

func busyMappings() []*Mapping {
	return []*Mapping{
		{Start: 0x400000, Limit: 0x2400000, File: "/usr/local/bin/checkout-service",
			BuildID: "9f3c2b1a0e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b", HasFunctions: true, HasFilenames: true,
			HasLineNumbers: true, HasInlineFrames: true},
		{Start: 0x7f3a10000000, Limit: 0x7f3a10200000, File: "/lib/x86_64-linux-gnu/libc.so.6",
			BuildID: "c0ffee0123456789abcdef0123456789abcdef01", HasFunctions: true},
		{Start: 0x7f3a10400000, Limit: 0x7f3a10500000, File: "/lib/x86_64-linux-gnu/libpthread.so.0",
			BuildID: "0badc0de89abcdef0123456789abcdef01234567", HasFunctions: true},
		{Start: 0x7ffd1c000000, Limit: 0x7ffd1c002000, File: "[vdso]"},
	}
}

// busyProfile builds the profile for one scale from a fixed seed.
func busyProfile(scale float64) *Profile {
	r := rand.New(rand.NewSource(20261204))
	nFn, nLoc, nSmp := int(8000*scale), int(42000*scale), int(51000*scale)
	maps := busyMappings()
	fns := make([]*Function, nFn)
	for i := range fns {
		pkg, typ := i/40, (i/8)%5
		name := fmt.Sprintf("github.com/acme/checkout/internal/pkg%03d.(*Handler%d).Method%d", pkg, typ, i%8)
		if i%7 == 0 {
			name = fmt.Sprintf("github.com/acme/checkout/internal/pkg%03d.helper%d.func%d", pkg, i%8, i%3+1)
		}
		fns[i] = &Function{Name: name, SystemName: name,
			Filename:  fmt.Sprintf("/src/github.com/acme/checkout/internal/pkg%03d/handler%d.go", pkg, typ),
			StartLine: int64(10 + (i%8)*40)}
	}
	locs := make([]*Location, nLoc)
	for i := range locs {
		m := maps[0]
		switch {
		case i%50 == 1:
			m = maps[1]
		case i%97 == 2:
			m = maps[2]
		case i%501 == 3:
			m = maps[3]
		}
		fn := fns[r.Intn(nFn)]
		l := &Location{Mapping: m, Address: m.Start + uint64(i)*48 + uint64(r.Intn(32)),
			Lines: []Line{{Fn: fn, Line: fn.StartLine + int64(r.Intn(40))}}}
		if i%3 == 0 { // inline frames: callee first, caller last
			caller := fns[r.Intn(nFn)]
			l.Lines = append([]Line{{Fn: fn, Line: fn.StartLine + int64(r.Intn(40))}},
				Line{Fn: caller, Line: caller.StartLine + int64(r.Intn(40))})
			if i%9 == 0 {
				l.Lines = append([]Line{{Fn: fns[r.Intn(nFn)], Line: int64(5 + r.Intn(300))}}, l.Lines...)
			}
		}
		locs[i] = l
	}
	p := &Profile{SampleTypes: []VT{{"samples", "count"}, {"cpu", "nanoseconds"}},
		PeriodType: &VT{"cpu", "nanoseconds"}, Period: 10000000,
		TimeNanos: 1764806400000000000, DurationNanos: 10000000000, FirstMapping: maps[0]}
	endpoints := []string{"/api/v1/cart", "/api/v1/checkout", "/api/v1/payment", "/healthz", "/api/v1/orders"}
	var trace, span string
	for i := 0; i < nSmp; i++ {
		depth := 5 + r.Intn(24)
		stk := make([]*Location, depth)
		for d := range stk { // hot frames near the root are shared, leaves spread wide
			if d >= depth-4 {
				stk[d] = locs[r.Intn(1+nLoc/200)]
			} else {
				stk[d] = locs[r.Intn(nLoc)]
			}
		}
		n := int64(1 + r.Intn(4))
		s := Sample{Locs: stk, Values: []int64{n, n * 10000000}}
		if i%2 == 0 {
			if i%6 == 0 { // a few samples per span, a few spans per trace
				if i%24 == 0 {
					trace = fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
				}
				span = fmt.Sprintf("%016x", r.Uint64())
			}
			s.Labels = append(s.Labels, strL("trace_id", trace), strL("span_id", span))
		}
		if i%3 == 0 {
			s.Labels = append(s.Labels, strL("http.route", endpoints[r.Intn(len(endpoints))]))
		}
		s.Labels = append(s.Labels, numL("goroutine", int64(1+r.Intn(5000)), ""))
		if i%4 == 1 {
			s.Labels = append(s.Labels, numL("bytes", int64(r.Intn(1<<20)), "bytes"),
				numL("request.duration", int64(r.Intn(1e9)), "nanoseconds"))
		}
		p.Samples = append(p.Samples, s)
	}
	return p
}

// writeBusy writes the busy-service profile of the named size, gzipped.
func writeBusy(size, file string) error {
	scale, ok := busyScale[size]
	if !ok {
		return fmt.Errorf("unknown busy size %q (small, medium, large)", size)
	}
	return writeProfile(file, busyProfile(scale), Enc{})
}
