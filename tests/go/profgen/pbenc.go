// pbenc.go — a small hand-written pprof encoder (protobuf wire format by hand, stdlib only).
//
// Profiles are described semantically (strings, pointers) and encoded with knobs that change
// the bytes but not the meaning: packed or unpacked repeated scalars, duplicated strings,
// reversed string order, sparse ids, reversed field order, explicit zero fields, orphans,
// gzip or plain. Field numbers follow google/pprof proto/profile.proto.
package main

import (
	"bytes"
	"compress/gzip"
	"os"
)

type VT struct{ Type, Unit string }

type Mapping struct {
	Start, Limit, Offset uint64
	File, BuildID        string
	HasFunctions         bool
	HasFilenames         bool
	HasLineNumbers       bool
	HasInlineFrames      bool
}

type Function struct {
	Name, SystemName, Filename string
	StartLine                  int64
}

type Line struct {
	Fn     *Function // nil: function_id 0
	Line   int64
	Column int64
}

type Location struct {
	Mapping  *Mapping // nil: no mapping
	Address  uint64
	Lines    []Line
	IsFolded bool
}

// Label is a string label (Str) unless IsNum, then Num with optional Unit.
type Label struct {
	Key, Str string
	IsNum    bool
	Num      int64
	Unit     string
}

type Sample struct {
	Locs   []*Location
	Values []int64
	Labels []Label
}

type Profile struct {
	SampleTypes                    []VT
	DefaultSampleType              string
	Samples                        []Sample
	PeriodType                     *VT
	Period                         int64
	TimeNanos, DurationNanos       int64
	Comments                       []string
	DropFrames, KeepFrames, DocURL string
	ExtraLocations                 []*Location // locations appended to the table (orphans)
	FirstMapping                   *Mapping    // put first: mapping[0], the "main binary" (referenced or orphan)
	OrphanMappings                 []*Mapping  // mappings appended, referenced by nothing
	OrphanFunctions                []*Function // functions referenced by nothing
	ExtraStrings                   []string    // unreferenced strings in the table
}

// Enc holds the knobs that change bytes but not meaning.
type Enc struct {
	Unpacked        bool                          // repeated scalars one key per element
	DupStrings      bool                          // every non-empty string twice; references alternate
	ReverseStr      bool                          // string table in reverse order of first use
	ReverseFields   bool                          // top-level fields written highest number first
	ExplicitZero    bool                          // write zero-valued scalar fields explicitly
	Plain           bool                          // do not gzip
	ID              func(kind byte, i int) uint64 // ids for 'm','l','f' (default i+1)
	ReverseTables   bool                          // location/function tables reversed (mappings keep their order)
	ReverseMappings bool                          // mappings after [0] reversed (a different profile)
}

// ---- protobuf wire writer ----

type pb struct{ b []byte }

func (p *pb) varint(x uint64) {
	for x >= 0x80 {
		p.b = append(p.b, byte(x)|0x80)
		x >>= 7
	}
	p.b = append(p.b, byte(x))
}
func (p *pb) key(f int, wt int) { p.varint(uint64(f)<<3 | uint64(wt)) }
func (p *pb) u(f int, x uint64, zero bool) {
	if x != 0 || zero {
		p.key(f, 0)
		p.varint(x)
	}
}
func (p *pb) i(f int, x int64, zero bool) { p.u(f, uint64(x), zero) }
func (p *pb) bool(f int, x bool, zero bool) {
	if x {
		p.u(f, 1, true)
	} else if zero {
		p.u(f, 0, true)
	}
}
func (p *pb) bytes(f int, b []byte) {
	p.key(f, 2)
	p.varint(uint64(len(b)))
	p.b = append(p.b, b...)
}
func (p *pb) msg(f int, fill func(*pb)) {
	var q pb
	fill(&q)
	p.bytes(f, q.b)
}

// rep writes a repeated varint field packed or unpacked.
func (p *pb) rep(f int, xs []uint64, unpacked bool) {
	if len(xs) == 0 {
		return
	}
	if unpacked {
		for _, x := range xs {
			p.u(f, x, true)
		}
		return
	}
	var q pb
	for _, x := range xs {
		q.varint(x)
	}
	p.bytes(f, q.b)
}

// ---- encoder ----

type encoder struct {
	e     Enc
	strs  []string
	idx   map[string][]int64
	uses  map[string]int
	mapID map[*Mapping]uint64
	locID map[*Location]uint64
	fnID  map[*Function]uint64
	maps  []*Mapping
	locs  []*Location
	fns   []*Function
}

// str interns s; with DupStrings each non-empty string has two slots used alternately.
func (en *encoder) str(s string) int64 {
	if s == "" {
		return 0
	}
	if _, ok := en.idx[s]; !ok {
		n := 1
		if en.e.DupStrings {
			n = 2
		}
		for k := 0; k < n; k++ {
			en.idx[s] = append(en.idx[s], int64(len(en.strs)))
			en.strs = append(en.strs, s)
		}
	}
	slots := en.idx[s]
	en.uses[s]++
	return slots[en.uses[s]%len(slots)]
}

func (en *encoder) addMapping(m *Mapping) {
	if m == nil || en.mapID[m] != 0 {
		return
	}
	en.maps = append(en.maps, m)
	en.mapID[m] = en.id('m', len(en.maps)-1)
}
func (en *encoder) addFunction(f *Function) {
	if f == nil || en.fnID[f] != 0 {
		return
	}
	en.fns = append(en.fns, f)
	en.fnID[f] = en.id('f', len(en.fns)-1)
}
func (en *encoder) addLocation(l *Location) {
	if en.locID[l] != 0 {
		return
	}
	en.addMapping(l.Mapping)
	for _, ln := range l.Lines {
		en.addFunction(ln.Fn)
	}
	en.locs = append(en.locs, l)
	en.locID[l] = en.id('l', len(en.locs)-1)
}
func (en *encoder) id(kind byte, i int) uint64 {
	if en.e.ID != nil {
		return en.e.ID(kind, i)
	}
	return uint64(i + 1)
}

// Encode returns the pprof bytes of p under the knobs e. ReverseStr needs the order of first
// use, so it encodes twice: the second pass interns the strings in reverse order up front.
func Encode(p *Profile, e Enc) []byte {
	if !e.ReverseStr {
		b, _ := encodeWith(p, e, nil)
		return b
	}
	_, order := encodeWith(p, e, nil)
	var seed []string
	for k := len(order) - 1; k >= 1; k-- {
		if len(seed) == 0 || seed[len(seed)-1] != order[k] {
			seed = append(seed, order[k])
		}
	}
	b, _ := encodeWith(p, e, seed)
	return b
}

func encodeWith(p *Profile, e Enc, seed []string) ([]byte, []string) {
	en := &encoder{e: e, strs: []string{""}, idx: map[string][]int64{}, uses: map[string]int{},
		mapID: map[*Mapping]uint64{}, locID: map[*Location]uint64{}, fnID: map[*Function]uint64{}}
	for _, s := range seed {
		en.str(s)
		en.uses[s] = 0
	}
	z := e.ExplicitZero
	en.addMapping(p.FirstMapping)
	for _, s := range p.Samples {
		for _, l := range s.Locs {
			en.addLocation(l)
		}
	}
	for _, l := range p.ExtraLocations {
		en.addLocation(l)
	}
	for _, m := range p.OrphanMappings {
		en.addMapping(m)
	}
	for _, f := range p.OrphanFunctions {
		en.addFunction(f)
	}

	// Each top-level field is rendered separately so the order can be reversed.
	var fields [16]pb
	vt := func(q *pb, v VT) { q.i(1, en.str(v.Type), z); q.i(2, en.str(v.Unit), z) }
	for _, st := range p.SampleTypes {
		fields[1].msg(1, func(q *pb) { vt(q, st) })
	}
	for _, s := range p.Samples {
		s := s
		fields[2].msg(2, func(q *pb) {
			ids := make([]uint64, len(s.Locs))
			for k, l := range s.Locs {
				ids[k] = en.locID[l]
			}
			q.rep(1, ids, e.Unpacked)
			vals := make([]uint64, len(s.Values))
			for k, v := range s.Values {
				vals[k] = uint64(v)
			}
			q.rep(2, vals, e.Unpacked)
			for _, lb := range s.Labels {
				lb := lb
				q.msg(3, func(r *pb) {
					r.i(1, en.str(lb.Key), z)
					if lb.IsNum {
						r.i(3, lb.Num, z)
						r.i(4, en.str(lb.Unit), z)
					} else {
						r.i(2, en.str(lb.Str), z)
					}
				})
			}
		})
	}
	// order lists table positions; from keeps the first `from` entries in place.
	order := func(n, from int, rev bool) []int {
		ix := make([]int, n)
		for k := range ix {
			ix[k] = k
			if rev && k >= from {
				ix[k] = n - 1 - (k - from)
			}
		}
		return ix
	}
	for _, k := range order(len(en.maps), 1, e.ReverseMappings) { // mapping[0] stays first
		m := en.maps[k]
		fields[3].msg(3, func(q *pb) {
			q.u(1, en.mapID[m], true)
			q.u(2, m.Start, z)
			q.u(3, m.Limit, z)
			q.u(4, m.Offset, z)
			q.i(5, en.str(m.File), z)
			q.i(6, en.str(m.BuildID), z)
			q.bool(7, m.HasFunctions, z)
			q.bool(8, m.HasFilenames, z)
			q.bool(9, m.HasLineNumbers, z)
			q.bool(10, m.HasInlineFrames, z)
		})
	}
	for _, k := range order(len(en.locs), 0, e.ReverseTables) {
		l := en.locs[k]
		fields[4].msg(4, func(q *pb) {
			q.u(1, en.locID[l], true)
			q.u(2, en.mapID[l.Mapping], z)
			q.u(3, l.Address, z)
			for _, ln := range l.Lines {
				ln := ln
				q.msg(4, func(r *pb) {
					r.u(1, en.fnID[ln.Fn], z)
					r.i(2, ln.Line, z)
					r.i(3, ln.Column, z)
				})
			}
			q.bool(5, l.IsFolded, z)
		})
	}
	for _, k := range order(len(en.fns), 0, e.ReverseTables) {
		f := en.fns[k]
		fields[5].msg(5, func(q *pb) {
			q.u(1, en.fnID[f], true)
			q.i(2, en.str(f.Name), z)
			q.i(3, en.str(f.SystemName), z)
			q.i(4, en.str(f.Filename), z)
			q.i(5, f.StartLine, z)
		})
	}
	fields[7].i(7, en.str(p.DropFrames), z)
	fields[8].i(8, en.str(p.KeepFrames), z)
	fields[9].i(9, p.TimeNanos, z)
	fields[10].i(10, p.DurationNanos, z)
	if p.PeriodType != nil {
		fields[11].msg(11, func(q *pb) { vt(q, *p.PeriodType) })
	}
	fields[12].i(12, p.Period, z)
	var cs []uint64
	for _, c := range p.Comments {
		cs = append(cs, uint64(en.str(c)))
	}
	fields[13].rep(13, cs, e.Unpacked)
	fields[14].i(14, en.str(p.DefaultSampleType), z)
	fields[15].i(15, en.str(p.DocURL), z)
	used := en.strs
	strs := append([]string(nil), en.strs...)
	strs = append(strs, p.ExtraStrings...)
	return finish(fields, strs, e), used
}

func finish(fields [16]pb, strs []string, e Enc) []byte {
	for _, s := range strs {
		fields[6].bytes(6, []byte(s))
	}
	var out pb
	for k := 1; k <= 15; k++ {
		f := k
		if e.ReverseFields {
			f = 16 - k
		}
		out.b = append(out.b, fields[f].b...)
	}
	if e.Plain {
		return out.b
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(out.b)
	zw.Close()
	return buf.Bytes()
}

func writeProfile(path string, p *Profile, e Enc) error {
	return os.WriteFile(path, Encode(p, e), 0o644)
}
