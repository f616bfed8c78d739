// edge.go — hand-built edge-case pprof profiles (small, deterministic), one concern per file
// where possible so that a failing round trip names its cause.
package main

import (
	"math"
	"os"
	"path/filepath"
)

// fixture is a small world of mappings, functions and locations shared by edge profiles.
type fixture struct {
	exe, lib, bare             *Mapping
	main, work, inl, callee    *Function
	sys, anon                  *Function
	lMain, lWork, lInl, lNoMap *Location
	lAddrOnly, lFolded, lSys   *Location
}

func newFixture() *fixture {
	f := &fixture{}
	f.exe = &Mapping{Start: 0x400000, Limit: 0x800000, Offset: 0x1000, File: "/usr/bin/app",
		BuildID: "4e0b3a2c9d8f7e6a5b4c3d2e1f0a9b8c7d6e5f40", HasFunctions: true, HasFilenames: true,
		HasLineNumbers: true, HasInlineFrames: true}
	f.lib = &Mapping{Start: 0x7f0000000000, Limit: 0x7f0000200000, Offset: 0, File: "/lib/x86_64-linux-gnu/libc.so.6",
		BuildID: "go-build-id/abc123/def456", HasFunctions: true}
	f.bare = &Mapping{Start: 0x10000, Limit: 0x20000, File: "[vdso]"}
	f.main = &Function{Name: "main.main", SystemName: "main.main", Filename: "/src/app/main.go", StartLine: 10}
	f.work = &Function{Name: "main.work", SystemName: "main.work", Filename: "/src/app/work.go", StartLine: 3}
	f.inl = &Function{Name: "main.inlined", SystemName: "main.inlined·f", Filename: "/src/app/inl.go", StartLine: 77}
	f.callee = &Function{Name: "bytes.(*Buffer).Write", SystemName: "bytes.(*Buffer).Write", Filename: "/go/src/bytes/buffer.go", StartLine: 170}
	f.sys = &Function{Name: "memcpy", SystemName: "__memcpy_avx_unaligned_erms", Filename: "", StartLine: 0}
	f.anon = &Function{Name: "", SystemName: "", Filename: "", StartLine: 0}
	f.lMain = &Location{Mapping: f.exe, Address: 0x401234, Lines: []Line{{Fn: f.main, Line: 14, Column: 2}}}
	f.lWork = &Location{Mapping: f.exe, Address: 0x402000, Lines: []Line{{Fn: f.work, Line: 9, Column: 17}}}
	// Inline frames: callee first, caller last, with distinct columns.
	f.lInl = &Location{Mapping: f.exe, Address: 0x403010, Lines: []Line{
		{Fn: f.callee, Line: 180, Column: 5}, {Fn: f.inl, Line: 80, Column: 9}, {Fn: f.work, Line: 12, Column: 1}}}
	f.lNoMap = &Location{Address: 0xdeadbeef, Lines: []Line{{Fn: f.work, Line: 20}}}
	f.lAddrOnly = &Location{Mapping: f.lib, Address: 0x7f0000001234}
	f.lFolded = &Location{Mapping: f.exe, Address: 0x404000, IsFolded: true, Lines: []Line{{Fn: f.inl, Line: 81, Column: 3}}}
	f.lSys = &Location{Mapping: f.lib, Address: 0x7f0000005678, Lines: []Line{{Fn: f.sys, Line: 0}}}
	return f
}

func strL(k, v string) Label                 { return Label{Key: k, Str: v} }
func numL(k string, n int64, u string) Label { return Label{Key: k, IsNum: true, Num: n, Unit: u} }

// headerFull sets every profile-level field.
func headerFull(p *Profile) *Profile {
	p.PeriodType = &VT{"cpu", "nanoseconds"}
	p.Period = 10000000
	p.TimeNanos = 1700000000123456789
	p.DurationNanos = 2500000000
	p.Comments = []string{"first comment", "second: with \"quotes\" and \\backslash"}
	p.DropFrames = "runtime\\.goexit|runtime\\.main"
	p.KeepFrames = "main\\..*"
	p.DocURL = "https://example.test/docs/profiles#cpu"
	return p
}

// multiType: three sample types, default is the second one, every header field set.
func multiType(f *fixture) *Profile {
	p := headerFull(&Profile{
		SampleTypes:       []VT{{"samples", "count"}, {"cpu", "nanoseconds"}, {"alloc_space", "bytes"}},
		DefaultSampleType: "cpu",
	})
	p.Samples = []Sample{
		{Locs: []*Location{f.lWork, f.lMain}, Values: []int64{3, 30000000, 4096}},
		{Locs: []*Location{f.lInl, f.lWork, f.lMain}, Values: []int64{1, 10000000, 0}},
		{Locs: []*Location{f.lSys, f.lInl, f.lMain}, Values: []int64{2, 20000000, 128}},
	}
	return p
}

func labelsProfile(f *fixture) *Profile {
	p := &Profile{SampleTypes: []VT{{"samples", "count"}, {"alloc_space", "bytes"}},
		PeriodType: &VT{"space", "bytes"}, Period: 524288}
	stk := []*Location{f.lWork, f.lMain}
	p.Samples = []Sample{
		{Locs: stk, Values: []int64{1, 100}, Labels: []Label{numL("bytes", 4096, "bytes"), numL("request_latency", 1500, "nanoseconds")}},
		{Locs: stk, Values: []int64{1, 200}, Labels: []Label{numL("count", 12, "")}},
		// multi-valued: same key twice (string), order matters
		{Locs: stk, Values: []int64{1, 300}, Labels: []Label{strL("tag", "b"), strL("tag", "a"), strL("span", "x")}},
		// multi-valued numeric with different units under one key
		{Locs: stk, Values: []int64{1, 400}, Labels: []Label{numL("size", 1, "kilobytes"), numL("size", 2048, "bytes")}},
		// mixed str and num under one key
		{Locs: stk, Values: []int64{1, 500}, Labels: []Label{strL("mixed", "text"), numL("mixed", 7, "requests")}},
		// negative and extreme numbers, num 0 with a unit
		{Locs: stk, Values: []int64{1, 600}, Labels: []Label{numL("delta", -42, "bytes"), numL("min", math.MinInt64, ""),
			numL("max", math.MaxInt64, "count"), numL("zero", 0, "bytes")}},
		// same key set as sample 0 in another key order
		{Locs: stk, Values: []int64{1, 700}, Labels: []Label{numL("request_latency", 1500, "nanoseconds"), numL("bytes", 4096, "bytes")}},
		// label values that need escaping in JSON; trace-like ids kept as strings
		{Locs: stk, Values: []int64{1, 800}, Labels: []Label{strL("trace_id", "0af7651916cd43dd8448eb211c80319c"),
			strL("span_id", "b7ad6b7169203331"), strL("quote\"key", "line\nbreak\ttab\\ \u00e9\u4e16\u2028")}},
		// duplicate samples: same stack and labels, kept separately and in order
		{Locs: stk, Values: []int64{1, 900}, Labels: []Label{strL("tag", "dup")}},
		{Locs: stk, Values: []int64{1, 900}, Labels: []Label{strL("tag", "dup")}},
		{Locs: stk, Values: []int64{1, 901}},
		{Locs: stk, Values: []int64{1, 900}, Labels: []Label{strL("tag", "dup")}},
	}
	return p
}

func inlineColumns(f *fixture) *Profile {
	p := &Profile{SampleTypes: []VT{{"samples", "count"}}, PeriodType: &VT{"cpu", "nanoseconds"}, Period: 1000}
	p.Samples = []Sample{
		{Locs: []*Location{f.lInl, f.lMain}, Values: []int64{5}},
		{Locs: []*Location{f.lFolded, f.lInl, f.lMain}, Values: []int64{6}},
		{Locs: []*Location{f.lNoMap, f.lMain}, Values: []int64{7}},
		{Locs: []*Location{f.lAddrOnly, f.lSys, f.lWork, f.lMain}, Values: []int64{8}},
		{Locs: []*Location{f.lMain, f.lMain, f.lMain}, Values: []int64{9}}, // recursion: repeated location
		{Locs: nil, Values: []int64{10}},                                   // empty stack
	}
	return p
}

// sparseIDs: huge and non-sequential ids, tables in reverse order.
func sparseIDs(f *fixture) (*Profile, Enc) {
	p := inlineColumns(f)
	e := Enc{ReverseTables: true, ID: func(kind byte, i int) uint64 {
		switch kind {
		case 'm':
			return 1<<40 + uint64(i)*7
		case 'l':
			return math.MaxUint64 - uint64(i)*1000
		}
		return 1<<63 + uint64(i)*3
	}}
	return p, e
}

func extremes(f *fixture) *Profile {
	big := &Mapping{Start: 0xffffffffff000000, Limit: math.MaxUint64, Offset: math.MaxUint64 >> 1, File: "/big", BuildID: "ff"}
	hi := &Location{Mapping: big, Address: math.MaxUint64, Lines: []Line{{Fn: f.work, Line: math.MaxInt64, Column: math.MaxInt64}}}
	neg := &Location{Mapping: big, Address: 0xffffffffff000001, Lines: []Line{{Fn: &Function{Name: "neg", StartLine: -5}, Line: -1, Column: -2}}}
	p := &Profile{SampleTypes: []VT{{"delta", "bytes"}, {"count", ""}}, PeriodType: &VT{"space", "bytes"}, Period: math.MaxInt64,
		TimeNanos: -1, DurationNanos: math.MaxInt64}
	p.Samples = []Sample{
		{Locs: []*Location{hi, f.lMain}, Values: []int64{-100, -1}},
		{Locs: []*Location{neg}, Values: []int64{math.MinInt64, math.MaxInt64}},
		{Locs: []*Location{hi}, Values: []int64{0, 0}}, // all-zero sample is still a sample
	}
	return p
}

func emptyNames(f *fixture) *Profile {
	anonMap := &Mapping{Start: 0x1000, Limit: 0x2000}
	l1 := &Location{Mapping: anonMap, Address: 0x1100, Lines: []Line{{Fn: f.anon, Line: 3}}}
	l2 := &Location{Mapping: anonMap, Address: 0x1200, Lines: []Line{{Fn: &Function{SystemName: "only_system_name"}}}}
	l3 := &Location{Mapping: anonMap, Address: 0x1300, Lines: []Line{{Fn: &Function{Filename: "only_file.c"}, Line: 4}}}
	p := &Profile{SampleTypes: []VT{{"", ""}, {"samples", ""}}, PeriodType: &VT{"", "count"}, Period: 1}
	p.Samples = []Sample{
		{Locs: []*Location{l1, l2, l3}, Values: []int64{1, 2}, Labels: []Label{strL("", "empty key")}},
		{Locs: []*Location{l3}, Values: []int64{3, 4}},
	}
	return p
}

func lineNoFunction(f *fixture) *Profile {
	l := &Location{Mapping: f.exe, Address: 0x405000, Lines: []Line{{Fn: nil, Line: 33, Column: 4}, {Fn: f.work, Line: 5}}}
	return &Profile{SampleTypes: []VT{{"samples", "count"}}, Samples: []Sample{{Locs: []*Location{l, f.lMain}, Values: []int64{1}}}}
}

func noPeriodType(f *fixture) *Profile {
	return &Profile{SampleTypes: []VT{{"contentions", "count"}, {"delay", "nanoseconds"}},
		Samples: []Sample{{Locs: []*Location{f.lWork, f.lMain}, Values: []int64{2, 3000}}}}
}

func orphans(f *fixture) *Profile {
	p := multiType(f)
	p.FirstMapping = &Mapping{Start: 0x1, Limit: 0x2, File: "/orphan/first-mapping", BuildID: "00"}
	p.OrphanMappings = []*Mapping{{Start: 0x3, Limit: 0x4, File: "/orphan/last-mapping"}}
	p.ExtraLocations = []*Location{{Mapping: f.bare, Address: 0x10010, Lines: []Line{{Fn: &Function{Name: "orphan.loc.fn"}}}}}
	p.OrphanFunctions = []*Function{{Name: "orphan.fn", Filename: "orphan.go"}}
	p.ExtraStrings = []string{"unreferenced", "strings"}
	return p
}

func deepStack(f *fixture) *Profile {
	var stk []*Location
	for k := 0; k < 300; k++ {
		stk = append(stk, []*Location{f.lInl, f.lWork, f.lFolded}[k%3])
	}
	stk = append(stk, f.lMain)
	return &Profile{SampleTypes: []VT{{"samples", "count"}}, PeriodType: &VT{"cpu", "nanoseconds"}, Period: 1,
		Samples: []Sample{{Locs: stk, Values: []int64{1}}, {Locs: stk[150:], Values: []int64{2}}}}
}

type edgeCase struct {
	name string
	p    *Profile
	e    Enc
}

func edgeCases() []edgeCase {
	f := newFixture()
	sp, se := sparseIDs(newFixture())
	emptyFull := headerFull(&Profile{SampleTypes: []VT{{"samples", "count"}, {"cpu", "nanoseconds"}}, DefaultSampleType: "cpu"})
	noTypesHeader := headerFull(&Profile{})
	return []edgeCase{
		{"multi-type-default", multiType(f), Enc{}},
		{"multi-type-unpacked", multiType(f), Enc{Unpacked: true}},
		{"multi-type-plain", multiType(f), Enc{Plain: true}},
		{"multi-type-reversed-fields", multiType(f), Enc{ReverseFields: true, ReverseStr: true, ReverseTables: true}},
		{"explicit-zero-fields", multiType(f), Enc{ExplicitZero: true, Unpacked: true}},
		{"labels", labelsProfile(f), Enc{}},
		{"labels-unpacked", labelsProfile(f), Enc{Unpacked: true}},
		{"inline-columns", inlineColumns(f), Enc{}},
		{"sparse-ids", sp, se},
		{"extremes", extremes(f), Enc{}},
		{"empty-names", emptyNames(f), Enc{}},
		{"line-without-function", lineNoFunction(f), Enc{}},
		{"no-period-type", noPeriodType(f), Enc{}},
		{"dup-strings", multiType(f), Enc{DupStrings: true}},
		{"dup-strings-labels", labelsProfile(f), Enc{DupStrings: true}},
		{"orphans", orphans(f), Enc{}},
		{"deep-stack", deepStack(f), Enc{}},
		{"empty-samples", emptyFull, Enc{}},
		{"no-sample-types", &Profile{}, Enc{}},
		{"no-sample-types-header", noTypesHeader, Enc{}},
	}
}

func writeEdge(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range edgeCases() {
		name := c.name + ".pb.gz"
		if c.e.Plain {
			name = c.name + ".pb"
		}
		if err := writeProfile(filepath.Join(dir, name), c.p, c.e); err != nil {
			return err
		}
	}
	return nil
}
