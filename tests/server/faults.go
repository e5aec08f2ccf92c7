package main

// Fault injection for tests: rules armed over a small HTTP control port act
// on the requests that pass through the proxy (proxy.go).
//
// The design is simple: the proxy parses each OP_MSG request far enough to
// learn its command name (the first key of the body) and its collection
// (the first value when it is a string, or the "collection" field of a
// getMore). Every armed rule whose command, database, collection and byte
// filters match counts the request; at its Nth match the rule fires once, and does one of:
//
//	hold   the request waits (nothing is forwarded) until the test releases
//	       it, either forwarding it then or dropping the connection;
//	drop   the connection is closed, the request is not forwarded;
//	error  the request is not forwarded; the client gets {ok: 0, code,
//	       errmsg, codeName} as the reply.
//
// A test arms a rule, waits until it fired (for hold: the request is held
// right now), does what it wants at that exact moment (kill the loader,
// signal it, kill the server) and releases. See README.md for the HTTP API.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

type faultRule struct {
	ID      int    `json:"id"`
	DB      string `json:"db,omitempty"` // only requests on this database
	Command string `json:"command"`
	Coll    string `json:"coll,omitempty"`
	Has     string `json:"has,omitempty"` // the raw request must contain these bytes
	Nth     int    `json:"nth"`
	Action  string `json:"action"` // hold, drop, error
	Code    int32  `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	Seen      int    `json:"seen"`            // matching requests so far
	Fired     bool   `json:"fired"`           // the Nth match happened
	Held      bool   `json:"held"`            // a request is held right now
	Released  bool   `json:"released"`        // released by the test
	FiredColl string `json:"fired_coll"`      // the collection of the request it fired on
	Outcome   string `json:"outcome,omitempty"` // forwarded, dropped, replied

	fired   chan struct{} // closed when the rule fires
	release chan bool     // hold: true = forward, false = drop the connection
}

type faults struct {
	mu     sync.Mutex
	nextID int
	rules  []*faultRule
	logger *slog.Logger

	dropTargetDB string // emulate renameCollection dropTarget for these databases
}

func newFaults(logger *slog.Logger) *faults {
	return &faults{nextID: 1, logger: logger}
}

// match counts the request against every armed rule and returns the rule
// that fires on it, if any (the first armed one wins).
func (f *faults) match(msg []byte, cmd, coll, db string) *faultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hit *faultRule
	for _, r := range f.rules {
		if r.Fired || r.Command != cmd || !strings.Contains(coll, r.Coll) || (r.DB != "" && r.DB != db) ||
			(r.Has != "" && !bytes.Contains(msg, []byte(r.Has))) {
			continue
		}
		r.Seen++
		if r.Seen == r.Nth && hit == nil {
			r.Fired = true
			r.FiredColl = coll
			if r.Action == "hold" {
				r.Held = true
			}
			close(r.fired)
			hit = r
		}
	}
	if hit != nil {
		f.logger.Info("fault rule fired", "id", hit.ID, "command", cmd, "coll", coll, "action", hit.Action)
	}
	return hit
}

func (f *faults) find(id int) *faultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (f *faults) setOutcome(r *faultRule, outcome string) {
	f.mu.Lock()
	r.Held = false
	r.Outcome = outcome
	f.mu.Unlock()
}

// hold blocks until the rule is released (true: forward the request) or
// the connection or the server goes away (false).
func (f *faults) hold(ctx context.Context, r *faultRule, connDone <-chan struct{}) bool {
	select {
	case fwd := <-r.release:
		return fwd
	case <-connDone:
		return false
	case <-ctx.Done():
		return false
	}
}

// ---- control port ---------------------------------------------------------

func (f *faults) serveControl(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/arm", f.handleArm)
	mux.HandleFunc("/wait", f.handleWait)
	mux.HandleFunc("/release", f.handleRelease)
	mux.HandleFunc("/clear", f.handleClear)
	mux.HandleFunc("/rules", f.handleRules)
	mux.HandleFunc("/config", f.handleConfig)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		f.clear("")
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil {
		f.logger.Error("control port stopped", "error", err)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, format string, a ...any) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf(format, a...)})
}

func (f *faults) handleArm(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	r := &faultRule{
		DB:      q.Get("db"),
		Command: q.Get("command"),
		Coll:    q.Get("coll"),
		Has:     q.Get("has"),
		Nth:     1,
		Action:  q.Get("action"),
		Message: q.Get("message"),
		fired:   make(chan struct{}),
		release: make(chan bool, 1),
	}
	if r.Command == "" {
		badRequest(w, "command is required")
		return
	}
	if s := q.Get("nth"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			badRequest(w, "nth must be a positive integer")
			return
		}
		r.Nth = n
	}
	switch r.Action {
	case "hold", "drop":
	case "error":
		c, err := strconv.ParseInt(q.Get("code"), 10, 32)
		if err != nil {
			badRequest(w, "action error needs an int32 code")
			return
		}
		r.Code = int32(c)
		if r.Message == "" {
			r.Message = "error injected by the test proxy"
		}
	default:
		badRequest(w, "action must be hold, drop or error")
		return
	}
	f.mu.Lock()
	r.ID = f.nextID
	f.nextID++
	f.rules = append(f.rules, r)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"id": r.ID})
}

func (f *faults) ruleParam(w http.ResponseWriter, req *http.Request) *faultRule {
	id, err := strconv.Atoi(req.URL.Query().Get("id"))
	if err != nil {
		badRequest(w, "id is required")
		return nil
	}
	r := f.find(id)
	if r == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such rule"})
	}
	return r
}

func (f *faults) snapshot(r *faultRule) faultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *r
	c.fired, c.release = nil, nil
	return c
}

// /wait?id=N&timeout=S: waits until the rule fired; 200 with the rule, or
// 408 after the timeout (default 30 s).
func (f *faults) handleWait(w http.ResponseWriter, req *http.Request) {
	r := f.ruleParam(w, req)
	if r == nil {
		return
	}
	timeout := 30.0
	if s := req.URL.Query().Get("timeout"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || math.IsNaN(v) || v > 3600 {
			badRequest(w, "bad timeout")
			return
		}
		timeout = v
	}
	select {
	case <-r.fired:
		writeJSON(w, http.StatusOK, f.snapshot(r))
	case <-time.After(time.Duration(timeout * float64(time.Second))):
		writeJSON(w, http.StatusRequestTimeout, f.snapshot(r))
	case <-req.Context().Done():
	}
}

// /release?id=N[&forward=0]: lets a held request go on (forward=1, the
// default) or drops its connection (forward=0).
func (f *faults) handleRelease(w http.ResponseWriter, req *http.Request) {
	r := f.ruleParam(w, req)
	if r == nil {
		return
	}
	f.releaseOnce(r, req.URL.Query().Get("forward") != "0")
	writeJSON(w, http.StatusOK, f.snapshot(r))
}

// releaseOnce releases r's hold (now, or as soon as it fires); a second
// release is a no-op.
func (f *faults) releaseOnce(r *faultRule, forward bool) {
	f.mu.Lock()
	already := r.Released
	r.Released = true
	f.mu.Unlock()
	if !already {
		r.release <- forward
	}
}

// clear removes the rules of database db (all rules when db is empty),
// forwarding their held requests, and turns the dropTarget emulation off.
func (f *faults) clear(db string) {
	f.mu.Lock()
	var gone, kept []*faultRule
	for _, r := range f.rules {
		if db == "" || r.DB == db {
			gone = append(gone, r)
		} else {
			kept = append(kept, r)
		}
	}
	f.rules = kept
	if db == "" || strings.Contains(db, f.dropTargetDB) {
		f.dropTargetDB = ""
	}
	f.mu.Unlock()
	for _, r := range gone {
		f.releaseOnce(r, true)
	}
}

// /clear[?db=NAME]: removes the rules (of that database); held requests
// are forwarded.
func (f *faults) handleClear(w http.ResponseWriter, req *http.Request) {
	f.clear(req.URL.Query().Get("db"))
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (f *faults) handleRules(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	out := make([]faultRule, 0, len(f.rules))
	for _, r := range f.rules {
		c := *r
		c.fired, c.release = nil, nil
		out = append(out, c)
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// ---- wire protocol helpers --------------------------------------------------

// commandOf returns the command name, collection and database of an
// OP_MSG request (msg is the whole message, header included); ok is false
// for anything else (OP_QUERY hellos, compressed messages). The database
// is $db, except for renameCollection (run on admin): its source's.
func commandOf(msg []byte) (cmd, coll, db string, ok bool) {
	body := opMsgBody(msg)
	if body == nil {
		return "", "", "", false
	}
	first := true
	for e := range bsonElements(body) {
		switch {
		case first:
			cmd, ok, first = e.name, true, false
			if e.typ == 0x02 {
				coll = e.str
			}
		case e.name == "collection" && e.typ == 0x02 && cmd == "getMore":
			coll = e.str
		case e.name == "$db" && e.typ == 0x02:
			db = e.str
		}
	}
	if cmd == "renameCollection" {
		if d, _, found := strings.Cut(coll, "."); found {
			db = d
		}
	}
	return
}

type bsonElem struct {
	typ  byte
	name string
	str  string
	off  int // offset of the value in the document
}

// bsonElements yields the top-level elements of a BSON document, stopping
// at the first type it cannot size.
func bsonElements(doc []byte) func(func(bsonElem) bool) {
	return func(yield func(bsonElem) bool) {
		p := doc[4:]
		for len(p) > 1 {
			t := p[0]
			z := bytes.IndexByte(p[1:], 0)
			if z < 0 {
				return
			}
			e := bsonElem{typ: t, name: string(p[1 : 1+z])}
			p = p[2+z:]
			e.off = len(doc) - len(p)
			var size int
			switch t {
			case 0x01, 0x09, 0x11, 0x12:
				size = 8
			case 0x02, 0x0D, 0x0E:
				if len(p) < 4 {
					return
				}
				size = 4 + int(int32(binary.LittleEndian.Uint32(p)))
				if t == 0x02 && size >= 5 && size <= len(p) {
					e.str = string(p[4 : size-1])
				}
			case 0x03, 0x04, 0x0F:
				if len(p) < 4 {
					return
				}
				size = int(int32(binary.LittleEndian.Uint32(p)))
			case 0x05:
				if len(p) < 4 {
					return
				}
				size = 5 + int(int32(binary.LittleEndian.Uint32(p)))
			case 0x07:
				size = 12
			case 0x08:
				size = 1
			case 0x0A, 0x06, 0xFF, 0x7F:
				size = 0
			case 0x10:
				size = 4
			case 0x13:
				size = 16
			default:
				return
			}
			if size < 0 || size > len(p) {
				return
			}
			if !yield(e) {
				return
			}
			p = p[size:]
		}
	}
}

// bsonBuilder writes a flat BSON document.
type bsonBuilder struct{ b bytes.Buffer }

func newBSON() *bsonBuilder {
	d := &bsonBuilder{}
	d.b.Write([]byte{0, 0, 0, 0})
	return d
}

func (d *bsonBuilder) str(name, v string) *bsonBuilder {
	d.b.WriteByte(0x02)
	d.b.WriteString(name + "\x00")
	_ = binary.Write(&d.b, binary.LittleEndian, int32(len(v)+1))
	d.b.WriteString(v + "\x00")
	return d
}

func (d *bsonBuilder) int32(name string, v int32) *bsonBuilder {
	d.b.WriteByte(0x10)
	d.b.WriteString(name + "\x00")
	_ = binary.Write(&d.b, binary.LittleEndian, v)
	return d
}

func (d *bsonBuilder) double(name string, v float64) *bsonBuilder {
	d.b.WriteByte(0x01)
	d.b.WriteString(name + "\x00")
	_ = binary.Write(&d.b, binary.LittleEndian, v)
	return d
}

func (d *bsonBuilder) bytes() []byte {
	d.b.WriteByte(0)
	b := d.b.Bytes()
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// opMsg wraps a body document into an OP_MSG (flagBits 0, one section).
func opMsgBytes(reqID, responseTo int32, body []byte) []byte {
	out := make([]byte, wireHeaderLen+4+1+len(body))
	binary.LittleEndian.PutUint32(out[0:], uint32(len(out)))
	binary.LittleEndian.PutUint32(out[4:], uint32(reqID))
	binary.LittleEndian.PutUint32(out[8:], uint32(responseTo))
	binary.LittleEndian.PutUint32(out[12:], opMsg)
	copy(out[wireHeaderLen+5:], body)
	return out
}

// errorReply builds an OP_MSG reply {ok: 0.0, errmsg, code, codeName} to
// the request whose requestID is reqID.
func errorReply(reqID int32, code int32, message string) []byte {
	body := newBSON().double("ok", 0).str("errmsg", message).int32("code", code).
		str("codeName", "InjectedByTestProxy").bytes()
	return opMsgBytes(reqID^0x5a5a5a5a, reqID, body)
}

// ---- dropTarget emulation -------------------------------------------------

// FerretDB has no renameCollection dropTarget. For databases whose name
// contains f.dropTargetDB, the proxy provides it: it drops the target on a
// side connection, then forwards the rename with dropTarget set to false
// (the same length, patched in place). The client sees one command, as
// with MongoDB.
func (p *proxy) emulateDropTarget(msg []byte) {
	p.faults.mu.Lock()
	sub := p.faults.dropTargetDB
	p.faults.mu.Unlock()
	if sub == "" {
		return
	}
	body := opMsgBody(msg)
	if body == nil {
		return
	}
	var to string
	dropAt := -1
	first := true
	for e := range bsonElements(body) {
		if first && e.name != "renameCollection" {
			return
		}
		first = false
		switch {
		case e.name == "to" && e.typ == 0x02:
			to = e.str
		case e.name == "dropTarget" && e.typ == 0x08 && e.off < len(body) && body[e.off] == 1:
			dropAt = e.off
		}
	}
	db, coll, ok := strings.Cut(to, ".")
	if dropAt < 0 || !ok || !strings.Contains(db, sub) {
		return
	}
	if err := p.sideCommand(newBSON().str("drop", coll).str("$db", db).bytes()); err != nil {
		p.logger.Warn("dropTarget emulation: drop failed", "error", err)
		return
	}
	body[dropAt] = 0
}

// opMsgBody returns the body section of an OP_MSG request (a slice of msg).
func opMsgBody(msg []byte) []byte {
	if len(msg) < wireHeaderLen+5 || int32(binary.LittleEndian.Uint32(msg[12:16])) != opMsg {
		return nil
	}
	p := msg[wireHeaderLen+4:]
	for len(p) > 0 {
		kind := p[0]
		p = p[1:]
		if len(p) < 4 {
			return nil
		}
		n := int(int32(binary.LittleEndian.Uint32(p[:4])))
		if n < 5 || n > len(p) {
			return nil
		}
		if kind == 0 {
			return p[:n]
		}
		if kind != 1 {
			return nil
		}
		p = p[n:]
	}
	return nil
}

// sideCommand runs one command on its own connection to FerretDB and
// waits for the reply (whose content is ignored: a missing target is fine).
func (p *proxy) sideCommand(body []byte) error {
	c, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(opMsgBytes(1, 0, body)); err != nil {
		return err
	}
	var buf []byte
	_, err = readMessage(c, &buf)
	return err
}

// /config?drop_target_db=SUBSTRING: emulate dropTarget for databases whose
// name contains SUBSTRING (empty: off).
func (f *faults) handleConfig(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	f.mu.Lock()
	if q.Has("drop_target_db") {
		f.dropTargetDB = q.Get("drop_target_db")
	}
	v := f.dropTargetDB
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"drop_target_db": v})
}
