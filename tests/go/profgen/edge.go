// edge.go — hand-built edge-case pprof profiles (small, deterministic), one concern per file
// where possible so that a failing round trip names its cause.
package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
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

// zeroLike: table entries that look like OTLP's zero elements (all fields empty) but are real
// pprof entries: an all-zero mapping, one with only a flag, and a location with nothing.
func zeroLike(f *fixture) *Profile {
	zeroMap := &Mapping{}
	flagMap := &Mapping{HasFunctions: true}
	l1 := &Location{Mapping: zeroMap, Address: 0x10, Lines: []Line{{Fn: f.work, Line: 1}}}
	l2 := &Location{Mapping: flagMap, Address: 0x20}
	empty := &Location{}
	return &Profile{SampleTypes: []VT{{"samples", "count"}}, Samples: []Sample{
		{Locs: []*Location{l1, f.lMain}, Values: []int64{1}},
		{Locs: []*Location{l2, empty, f.lMain}, Values: []int64{2}},
		{Locs: []*Location{empty}, Values: []int64{3}},
	}}
}

// sampleTypeQuirks: the same sample type twice, and a default that names no sample type.
func sampleTypeQuirks(f *fixture, def string) *Profile {
	return &Profile{SampleTypes: []VT{{"samples", "count"}, {"samples", "count"}, {"cpu", "nanoseconds"}},
		DefaultSampleType: def, PeriodType: &VT{"cpu", "nanoseconds"}, Period: 1,
		Samples: []Sample{{Locs: []*Location{f.lWork, f.lMain}, Values: []int64{1, 2, 3}},
			{Locs: []*Location{f.lMain}, Values: []int64{4, 5, 6}}}}
}

func manyTypes(f *fixture) *Profile {
	p := &Profile{DefaultSampleType: "t4"}
	var vals []int64
	for k := 0; k < 8; k++ {
		p.SampleTypes = append(p.SampleTypes, VT{"t" + string(rune('0'+k)), []string{"count", "bytes"}[k%2]})
		vals = append(vals, int64(k*11))
	}
	p.Samples = []Sample{{Locs: []*Location{f.lInl, f.lMain}, Values: vals}}
	return p
}

// traceLabels: labels named like trace links, in forms that are not (or not exactly) link ids.
func traceLabels(f *fixture) *Profile {
	stk := []*Location{f.lWork, f.lMain}
	p := &Profile{SampleTypes: []VT{{"samples", "count"}}}
	for k, ls := range [][]Label{
		{strL("trace_id", "0AF7651916CD43DD8448EB211C80319C"), strL("span_id", "B7AD6B7169203331")},
		{strL("trace_id", "00000000000000000000000000000000"), strL("span_id", "0000000000000000")},
		{strL("span_id", "b7ad6b7169203331"), strL("other", "x"), strL("trace_id", "0af7651916cd43dd8448eb211c80319c")},
		{strL("trace_id", "0af7651916cd43dd8448eb211c80319c"), numL("span_id", 12345, "")},
		{strL("trace_id", "0af7651916cd43dd8448eb211c80319c"), strL("span_id", "b7ad6b7169203331"),
			strL("trace_id", "1af7651916cd43dd8448eb211c80319c"), strL("span_id", "c7ad6b7169203331")},
		{strL("span_id", "b7ad6b7169203331")},
		{strL("trace_id", "0af7651916cd43dd8448eb211c80319"), strL("span_id", "b7ad6b7169203331")},
		{strL("trace_id", "0x0af7651916cd43dd8448eb211c8031"), strL("span_id", " b7ad6b716920333")},
		{numL("trace_id", 7, "id"), numL("span_id", -1, "id")},
		{strL("trace_id", "0af7651916cd43dd8448eb211c80319c"), strL("span_id", "b7ad6b7169203331")},
	} {
		p.Samples = append(p.Samples, Sample{Locs: stk, Values: []int64{int64(k + 1)}, Labels: ls})
	}
	return p
}

// labelKeyCollisions: label keys equal to names the translator may use for its own encoding.
func labelKeyCollisions(f *fixture) *Profile {
	stk := []*Location{f.lWork}
	return &Profile{SampleTypes: []VT{{"samples", "count"}}, Samples: []Sample{
		{Locs: stk, Values: []int64{1}, Labels: []Label{numL("size", 1, "kilobytes"), numL("size", 2048, "bytes"),
			strL("value", "v"), strL("unit", "u")}},
		{Locs: stk, Values: []int64{2}, Labels: []Label{numL("value", 5, "unit"), numL("value", 6, ""), strL("unit", "x")}},
		{Locs: stk, Values: []int64{3}, Labels: []Label{strL("pprof.profile.comment", "c"), strL("pprof.location.is_folded", "true"),
			strL("process.executable.build_id.gnu", "ab"), numL("pprof.scope.sample_type_order", 1, "")}},
	}}
}

func buildIDs(f *fixture) *Profile {
	var locs []*Location
	for k, b := range []string{"abcdef0123456789", "ABCDEF0123456789", "a/b/c", "not hex!", "deadbeef/", "/"} {
		m := &Mapping{Start: uint64(k+1) << 20, Limit: uint64(k+2) << 20, File: "/lib" + string(rune('a'+k)), BuildID: b}
		locs = append(locs, &Location{Mapping: m, Address: uint64(k+1)<<20 + 5})
	}
	// same fields as locs[0]'s mapping except the build id / flags
	twin := *locs[0].Mapping
	twin.BuildID = ""
	twin2 := *locs[0].Mapping
	twin2.HasInlineFrames = true
	noFile := &Mapping{Start: 0x9000, Limit: 0xa000, BuildID: "feedface"}
	locs = append(locs, &Location{Mapping: &twin, Address: locs[0].Address},
		&Location{Mapping: &twin2, Address: locs[0].Address}, &Location{Mapping: noFile, Address: 0x9001})
	return &Profile{SampleTypes: []VT{{"samples", "count"}}, Samples: []Sample{{Locs: locs, Values: []int64{1}}}}
}

// oddStrings: control characters, a long name, empty comments; with nul, NUL bytes too
// (valid in protobuf strings and UTF-8, awkward for C).
func oddStrings(f *fixture, nul bool) *Profile {
	z := ""
	if nul {
		z = "\x00"
	}
	long := strings.Repeat("very/long/function/name/", 800)
	fn := &Function{Name: "with" + z + "nul", SystemName: "sys" + z, Filename: "file" + z + ".go"}
	var ctl []byte
	for c := byte(1); c < 0x20; c++ {
		ctl = append(ctl, c)
	}
	l1 := &Location{Mapping: f.exe, Address: 0x406000, Lines: []Line{{Fn: fn, Line: 1}}}
	l2 := &Location{Mapping: f.exe, Address: 0x407000, Lines: []Line{{Fn: &Function{Name: long, Filename: string(ctl)}, Line: 2}}}
	return &Profile{SampleTypes: []VT{{"samples", "count"}}, Comments: []string{"", "x" + z + "y", ""},
		DropFrames: "a" + z + "b", Samples: []Sample{
			{Locs: []*Location{l1, l2}, Values: []int64{1}, Labels: []Label{strL("k"+z, "v"+z+"w"), strL("ctl", string(ctl)),
				numL("n", 3, "u"+z+"nit")}},
		}}
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
		{"zero-like-entries", zeroLike(f), Enc{}},
		{"duplicate-sample-types", sampleTypeQuirks(f, "samples"), Enc{}},
		{"default-names-no-type", sampleTypeQuirks(f, "wall"), Enc{}},
		{"many-sample-types", manyTypes(f), Enc{}},
		{"trace-labels", traceLabels(f), Enc{}},
		{"label-key-collisions", labelKeyCollisions(f), Enc{}},
		{"build-ids", buildIDs(f), Enc{}},
		{"odd-strings", oddStrings(f, false), Enc{}},
		{"nul-bytes", oddStrings(f, true), Enc{}},
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
