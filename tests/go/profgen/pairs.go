// pairs.go — profile pairs that test the test: the structural comparator must call every
// eq-NAME pair equal (same meaning, different bytes) and every ne-NAME pair different
// (exactly one semantic change each).
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// rich builds a fresh profile using most features, with its own fixture (safe to mutate).
func rich() (*Profile, *fixture) {
	f := newFixture()
	p := multiType(f)
	stk := []*Location{f.lFolded, f.lInl, f.lWork, f.lMain}
	p.Samples = append(p.Samples,
		Sample{Locs: stk, Values: []int64{1, 2, 3}, Labels: []Label{strL("tag", "a"), numL("bytes", 64, "bytes"), strL("tag", "b")}},
		Sample{Locs: []*Location{f.lNoMap, f.lAddrOnly}, Values: []int64{4, 5, 6}, Labels: []Label{numL("n", 1, "")}},
		Sample{Locs: stk, Values: []int64{1, 2, 3}, Labels: []Label{strL("tag", "a"), numL("bytes", 64, "bytes"), strL("tag", "b")}},
	)
	return p, f
}

type pairCase struct {
	name   string
	mutate func(p *Profile, f *fixture) // applied to b only
	encB   Enc
}

// pairBase is applied to both a and b before the mutation, for pairs that need another base.
var pairBase = map[string]func(p *Profile){
	"eq-period-type-empty-vs-missing": func(p *Profile) { p.PeriodType = nil },
	"ne-mapping-order": func(p *Profile) {
		p.OrphanMappings = []*Mapping{{Start: 0x1000, Limit: 0x2000, File: "[vdso]"}, {Start: 0x3000, Limit: 0x4000, File: "[vsyscall]"}}
	},
}

func pairCases() []pairCase {
	sparse := func(kind byte, i int) uint64 { return uint64(1)<<40 + uint64(i)*977 + uint64(kind) }
	return []pairCase{
		{"eq-encoding", nil, Enc{Unpacked: true, DupStrings: true, ReverseStr: true, ReverseFields: true,
			ReverseTables: true, Plain: true, ExplicitZero: true, ID: sparse}},
		{"ne-orphan-mapping", func(p *Profile, f *fixture) {
			p.OrphanMappings = []*Mapping{{Start: 1, Limit: 2, File: "orphan"}}
		}, Enc{}},
		{"ne-orphan-function", func(p *Profile, f *fixture) { p.OrphanFunctions = []*Function{{Name: "orphan"}} }, Enc{}},
		{"ne-orphan-location", func(p *Profile, f *fixture) { p.ExtraLocations = []*Location{{Address: 0x99}} }, Enc{}},
		{"ne-orphan-first-mapping", func(p *Profile, f *fixture) {
			p.FirstMapping = &Mapping{Start: 1, Limit: 2, File: "/orphan/first"}
		}, Enc{}},
		{"eq-label-key-order", func(p *Profile, f *fixture) {
			p.Samples[3].Labels = []Label{numL("bytes", 64, "bytes"), strL("tag", "a"), strL("tag", "b")}
		}, Enc{}},
		{"eq-period-type-empty-vs-missing", func(p *Profile, f *fixture) { p.PeriodType = &VT{} }, Enc{}},

		{"ne-column", func(p *Profile, f *fixture) { f.lInl.Lines[1].Column++ }, Enc{}},
		{"ne-line", func(p *Profile, f *fixture) { f.lWork.Lines[0].Line++ }, Enc{}},
		{"ne-start-line", func(p *Profile, f *fixture) { f.inl.StartLine++ }, Enc{}},
		{"ne-function-name", func(p *Profile, f *fixture) { f.callee.Name += "x" }, Enc{}},
		{"ne-system-name", func(p *Profile, f *fixture) { f.sys.SystemName += "x" }, Enc{}},
		{"ne-function-filename", func(p *Profile, f *fixture) { f.work.Filename += "x" }, Enc{}},
		{"ne-inline-order", func(p *Profile, f *fixture) {
			l := f.lInl.Lines
			l[0], l[1] = l[1], l[0]
		}, Enc{}},
		{"ne-address", func(p *Profile, f *fixture) { f.lWork.Address++ }, Enc{}},
		{"ne-is-folded", func(p *Profile, f *fixture) { f.lFolded.IsFolded = false }, Enc{}},
		{"ne-location-loses-mapping", func(p *Profile, f *fixture) { f.lWork.Mapping = nil }, Enc{}},
		{"ne-mapping-order", nil, Enc{ReverseMappings: true}},
		{"ne-main-binary", func(p *Profile, f *fixture) { p.FirstMapping = f.lib }, Enc{}},
		{"ne-mapping-start", func(p *Profile, f *fixture) { f.exe.Start++ }, Enc{}},
		{"ne-mapping-limit", func(p *Profile, f *fixture) { f.exe.Limit++ }, Enc{}},
		{"ne-mapping-offset", func(p *Profile, f *fixture) { f.exe.Offset++ }, Enc{}},
		{"ne-mapping-file", func(p *Profile, f *fixture) { f.lib.File += "x" }, Enc{}},
		{"ne-build-id", func(p *Profile, f *fixture) { f.exe.BuildID = "" }, Enc{}},
		{"ne-has-functions", func(p *Profile, f *fixture) { f.exe.HasFunctions = false }, Enc{}},
		{"ne-has-filenames", func(p *Profile, f *fixture) { f.exe.HasFilenames = false }, Enc{}},
		{"ne-has-line-numbers", func(p *Profile, f *fixture) { f.exe.HasLineNumbers = false }, Enc{}},
		{"ne-has-inline-frames", func(p *Profile, f *fixture) { f.exe.HasInlineFrames = false }, Enc{}},
		{"ne-value", func(p *Profile, f *fixture) { p.Samples[1].Values[2]++ }, Enc{}},
		{"ne-sample-order", func(p *Profile, f *fixture) { p.Samples[0], p.Samples[1] = p.Samples[1], p.Samples[0] }, Enc{}},
		{"ne-duplicate-dropped", func(p *Profile, f *fixture) { p.Samples = p.Samples[:len(p.Samples)-1] }, Enc{}},
		{"ne-stack-order", func(p *Profile, f *fixture) {
			s := p.Samples[0].Locs
			s[0], s[1] = s[1], s[0]
		}, Enc{}},
		{"ne-label-value-order", func(p *Profile, f *fixture) {
			p.Samples[3].Labels = []Label{strL("tag", "b"), numL("bytes", 64, "bytes"), strL("tag", "a")}
		}, Enc{}},
		{"ne-label-unit", func(p *Profile, f *fixture) { p.Samples[3].Labels[1].Unit = "kilobytes" }, Enc{}},
		{"ne-label-num-vs-str", func(p *Profile, f *fixture) { p.Samples[3].Labels[1] = strL("bytes", "64") }, Enc{}},
		{"ne-label-missing", func(p *Profile, f *fixture) { p.Samples[4].Labels = nil }, Enc{}},
		{"ne-default-sample-type", func(p *Profile, f *fixture) { p.DefaultSampleType = "samples" }, Enc{}},
		{"ne-sample-type-order", func(p *Profile, f *fixture) {
			p.SampleTypes[0], p.SampleTypes[1] = p.SampleTypes[1], p.SampleTypes[0]
			for k := range p.Samples {
				v := p.Samples[k].Values
				v[0], v[1] = v[1], v[0]
			}
		}, Enc{}},
		{"ne-period", func(p *Profile, f *fixture) { p.Period++ }, Enc{}},
		{"ne-period-type", func(p *Profile, f *fixture) { p.PeriodType.Unit = "microseconds" }, Enc{}},
		{"ne-time", func(p *Profile, f *fixture) { p.TimeNanos++ }, Enc{}},
		{"ne-duration", func(p *Profile, f *fixture) { p.DurationNanos++ }, Enc{}},
		{"ne-comment-order", func(p *Profile, f *fixture) { p.Comments[0], p.Comments[1] = p.Comments[1], p.Comments[0] }, Enc{}},
		{"ne-drop-frames", func(p *Profile, f *fixture) { p.DropFrames = "" }, Enc{}},
		{"ne-keep-frames", func(p *Profile, f *fixture) { p.KeepFrames += "x" }, Enc{}},
		{"ne-doc-url", func(p *Profile, f *fixture) { p.DocURL = "" }, Enc{}},
	}
}

func writePairs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range pairCases() {
		a, _ := rich()
		b, fb := rich()
		if base := pairBase[c.name]; base != nil {
			base(a)
			base(b)
		}
		if c.mutate != nil {
			c.mutate(b, fb)
		}
		if err := writeProfile(filepath.Join(dir, c.name+".a.pb.gz"), a, Enc{}); err != nil {
			return err
		}
		if err := writeProfile(filepath.Join(dir, c.name+".b.pb.gz"), b, c.encB); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return nil
}
