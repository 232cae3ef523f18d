package httpserve

import (
	"bytes"
	"net/http"
	"sync"
	"time"
)

// Cached serves h's response again, for up to maxAge, to every request
// that asks for the same representation (the same Accept and
// Accept-Encoding), instead of running h each time: a flood of scrapes of
// an expensive handler (/metrics renders every collector) then costs one
// rendering per maxAge. Only GET responses with status 200 are kept.
func Cached(h http.Handler, maxAge time.Duration) http.Handler {
	c := &cache{h: h, maxAge: maxAge, entries: map[string]*cacheEntry{}}
	return c
}

// maxCacheKeys bounds the representations kept: a client cannot grow the
// cache by inventing Accept headers (the least recently made is dropped).
const maxCacheKeys = 8

type cache struct {
	h      http.Handler
	maxAge time.Duration

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	mu     sync.Mutex // held while rendering: one rendering at a time
	made   time.Time
	header http.Header
	body   []byte
}

func (c *cache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		c.h.ServeHTTP(w, r)
		return
	}
	key := r.Header.Get("Accept") + "\x00" + r.Header.Get("Accept-Encoding")
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		if len(c.entries) >= maxCacheKeys && !c.dropOldest() {
			c.mu.Unlock()
			c.h.ServeHTTP(w, r) // every entry is being rendered: no room
			return
		}
		e = &cacheEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	if e.body == nil || time.Since(e.made) > c.maxAge {
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		c.h.ServeHTTP(rec, r)
		if rec.status != http.StatusOK {
			e.mu.Unlock()
			rec.replay(w)
			return
		}
		e.header, e.body, e.made = rec.header, rec.body.Bytes(), time.Now()
	}
	header, body := e.header, e.body
	e.mu.Unlock()
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// dropOldest forgets the entry made longest ago that is not being
// rendered, and says whether there was one.
func (c *cache) dropOldest() bool {
	var oldestKey string
	var oldest time.Time
	first := true
	for k, e := range c.entries {
		if e.mu.TryLock() {
			made := e.made
			e.mu.Unlock()
			if first || made.Before(oldest) {
				oldestKey, oldest, first = k, made, false
			}
		}
	}
	if !first {
		delete(c.entries, oldestKey)
	}
	return !first
}

// recorder keeps a handler's response.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

func (r *recorder) replay(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	w.Write(r.body.Bytes())
}
