// scrapetarget: a Go service for the pprof_scrape tests and benchmark. It serves
// net/http/pprof on every address given, burns CPU (cpuBurn), allocates (allocSmall,
// allocLarge), and makes mutex and block contention (mutexFight, blockWait), so that every
// profile type has samples that grow between scrapes. With -save DIR, every allocs, mutex
// and block profile it serves is also written to DIR/<kind>-<port>-<unix ns>.pb.gz: the test's
// oracle diffs consecutive ones with `go tool pprof -raw -base`. Extra paths for failure
// tests: /garbage (200, text), /slow (answers after 30 s). With -token, requests need it
// (bearer or basic auth password). With -trace TRACE_ID:SPAN_ID (hex), the CPU burner runs
// under pprof.Do with trace_id and span_id labels, the way tracing integrations set them.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

var sink [][]byte
var sinkMu sync.Mutex

//go:noinline
func cpuBurn(stop <-chan struct{}) {
	x := 1.0
	for {
		select {
		case <-stop:
			return
		default:
		}
		for i := 0; i < 100000; i++ {
			x = x*1.0000001 + 0.5
		}
	}
}

// burnTraced runs cpuBurn, under pprof.Do with trace_id and span_id labels when ids is
// "TRACE_ID:SPAN_ID".
func burnTraced(ids string, stop <-chan struct{}) {
	traceID, spanID, ok := strings.Cut(ids, ":")
	if !ok {
		cpuBurn(stop)
		return
	}
	pprof.Do(context.Background(), pprof.Labels("trace_id", traceID, "span_id", spanID),
		func(context.Context) { cpuBurn(stop) })
}

//go:noinline
func allocSmall() []byte { return make([]byte, 512) }

//go:noinline
func allocLarge() []byte { return make([]byte, 64<<10) }

func allocator(every time.Duration) {
	for {
		sinkMu.Lock()
		for i := 0; i < 200; i++ {
			sink = append(sink, allocSmall())
		}
		sink = append(sink, allocLarge())
		if len(sink) > 4000 {
			sink = sink[:0]
		}
		sinkMu.Unlock()
		runtime.GC() // publishes the allocation profile
		time.Sleep(every)
	}
}

var fight sync.Mutex

//go:noinline
func mutexFight() {
	for {
		fight.Lock()
		time.Sleep(2 * time.Millisecond)
		fight.Unlock()
		runtime.Gosched()
	}
}

//go:noinline
func blockWait() {
	ch := make(chan int)
	go func() {
		for {
			time.Sleep(3 * time.Millisecond)
			ch <- 1
		}
	}()
	for {
		<-ch
	}
}

// saver tees the profiles it serves into a directory.
type saver struct {
	http.ResponseWriter
	buf    bytes.Buffer
	status int
}

func (s *saver) WriteHeader(c int) { s.status = c; s.ResponseWriter.WriteHeader(c) }
func (s *saver) Write(p []byte) (int, error) {
	s.buf.Write(p)
	return s.ResponseWriter.Write(p)
}

// profileCache holds the latest encoded allocs, heap, goroutine, mutex and block profiles,
// remade every interval (nil when off).
type profileCache struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func newCache(every time.Duration) *profileCache {
	if every <= 0 {
		return nil
	}
	c := &profileCache{m: map[string][]byte{}}
	fill := func() {
		for _, k := range []string{"allocs", "heap", "goroutine", "mutex", "block"} {
			var b bytes.Buffer
			if err := pprof.Lookup(k).WriteTo(&b, 0); err == nil {
				c.mu.Lock()
				c.m[k] = b.Bytes()
				c.mu.Unlock()
			}
		}
	}
	fill()
	go func() {
		for range time.Tick(every) {
			fill()
		}
	}()
	return c
}

func (c *profileCache) get(kind string) []byte {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[kind]
}

func main() {
	addrs := flag.String("addr", "127.0.0.1:6060", "comma-separated listen addresses")
	save := flag.String("save", "", "directory to save the served allocs/mutex/block profiles in")
	burn := flag.Bool("burn", true, "burn CPU (off for benchmarks, where profgate's CPU is measured)")
	gcEvery := flag.Duration("gc", 50*time.Millisecond, "allocate and collect this often")
	token := flag.String("token", "", "when set, every request needs Authorization: Bearer <token> or basic auth with password <token> (401 otherwise)")
	cacheEvery := flag.Duration("cache", 0, "serve profiles made this often instead of one per request (benchmarks: the target stays cheap)")
	trace := flag.String("trace", "", "TRACE_ID:SPAN_ID: the CPU burner's samples carry them as trace_id and span_id labels")
	flag.Parse()
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)
	runtime.MemProfileRate = 4096
	stop := make(chan struct{})
	if *burn {
		go burnTraced(*trace, stop)
	}
	go allocator(*gcEvery)
	go mutexFight()
	go mutexFight()
	go blockWait()

	mux := http.NewServeMux()
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "this is not a profile")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(30 * time.Second):
		case <-r.Context().Done():
		}
	})
	var seq sync.Mutex
	cache := newCache(*cacheEvery)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		kind := strings.TrimPrefix(r.URL.Path, "/debug/pprof/")
		if b := cache.get(kind); b != nil {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(b)
			return
		}
		if *save == "" || (kind != "allocs" && kind != "mutex" && kind != "block") {
			http.DefaultServeMux.ServeHTTP(w, r)
			return
		}
		s := &saver{ResponseWriter: w, status: 200}
		seq.Lock() // one at a time: file names are unique and ordered
		defer seq.Unlock()
		http.DefaultServeMux.ServeHTTP(s, r)
		if s.status == 200 {
			_, port, _ := net.SplitHostPort(r.Host)
			name := filepath.Join(*save, fmt.Sprintf("%s-%s-%d.pb.gz", kind, port, time.Now().UnixNano()))
			if err := os.WriteFile(name, s.buf.Bytes(), 0o644); err != nil {
				log.Print(err)
			}
		}
	})
	var handler http.Handler = mux
	if *token != "" {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, pass, basic := r.BasicAuth()
			if r.Header.Get("Authorization") != "Bearer "+*token && !(basic && pass == *token) {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	var wg sync.WaitGroup
	for _, a := range strings.Split(*addrs, ",") {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			log.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); log.Print(http.Serve(ln, handler)) }()
	}
	fmt.Println("ready")
	wg.Wait()
}
