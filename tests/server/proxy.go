package main

// A tiny TCP proxy in front of FerretDB that lowers maxWriteBatchSize in
// hello/isMaster replies, and applies the fault rules a test arms
// (faults.go).
//
// Why: FerretDB 1.24.2's `update` handler defers closing each statement's
// query iterator until the whole command ends (defer inside a loop in
// internal/handler/msg_update.go), and every open iterator holds one of the
// SQLite backend's 100 pooled connections. An `update` command with 100 or
// more statements therefore blocks forever, and the stuck command keeps the
// connections, so the whole database stays wedged until a restart. FerretDB
// advertises maxWriteBatchSize 100000, so drivers happily send such commands
// (e.g. a bulk of 100+ upserts). Drivers split bulk writes according to
// maxWriteBatchSize, so advertising 99 avoids the deadlock without changing
// anything else.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

const (
	wireHeaderLen = 16
	wireMaxMsgLen = 48_000_000 // FerretDB's limit (wire.MaxMsgLen)
	opReply       = 1
	opMsg         = 2013
)

// BSON int32 element named maxWriteBatchSize: type 0x10, cstring name.
var maxWriteBatchElem = []byte("\x10maxWriteBatchSize\x00")

type proxy struct {
	ln       net.Listener
	backend  string
	maxBatch int32
	logger   *slog.Logger
	faults   *faults // rules armed through the control port (faults.go)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newProxy(ln net.Listener, backend string, maxBatch int32, f *faults, logger *slog.Logger) *proxy {
	return &proxy{ln: ln, backend: backend, maxBatch: maxBatch, faults: f, logger: logger,
		conns: make(map[net.Conn]struct{})}
}

// run accepts connections until ctx is canceled, then closes everything
// and waits for the connection goroutines.
func (p *proxy) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		_ = p.ln.Close()
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
	}()

	for {
		c, err := p.ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				p.logger.Error("proxy accept failed", "error", err)
			}
			break
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(ctx, c)
		}()
	}
	p.wg.Wait()
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *proxy) serve(ctx context.Context, client net.Conn) {
	defer client.Close()
	if !p.track(client) {
		return
	}
	defer p.untrack(client)

	var d net.Dialer
	backend, err := d.DialContext(ctx, "tcp", p.backend)
	if err != nil {
		if ctx.Err() == nil {
			p.logger.Error("proxy cannot reach FerretDB", "error", err)
		}
		return
	}
	defer backend.Close()
	if !p.track(backend) {
		return
	}
	defer p.untrack(backend)

	done := make(chan struct{}, 2)
	connDone := make(chan struct{}) // closed when either direction ends
	var once sync.Once
	ended := func() { once.Do(func() { close(connDone) }) }
	cw := &lockedWriter{w: client}
	go func() {
		// Requests pass unchanged unless a fault rule fires on them.
		if err := p.copyRequests(ctx, backend, client, cw, connDone); err != nil && ctx.Err() == nil {
			p.logger.Debug("proxy request stream ended", "error", err)
		}
		ended()
		closeWrite(backend)
		done <- struct{}{}
	}()
	go func() {
		if err := p.copyReplies(cw, backend); err != nil && ctx.Err() == nil {
			p.logger.Debug("proxy reply stream ended", "error", err)
		}
		ended()
		closeWrite(client)
		done <- struct{}{}
	}()
	<-done
	// One direction ended: tear down both so the other goroutine returns.
	_ = client.Close()
	_ = backend.Close()
	<-done
}

// lockedWriter serialises writes to the client: replies from FerretDB and
// error replies injected by a fault rule come from two goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// errDropped ends a connection on purpose (fault rule "drop").
var errDropped = errors.New("connection dropped by a fault rule")

// copyRequests copies whole wire messages from the client to FerretDB,
// applying the fault rules (faults.go) to each OP_MSG command.
func (p *proxy) copyRequests(ctx context.Context, dst io.Writer, src io.Reader, client io.Writer,
	connDone <-chan struct{}) error {
	var buf []byte
	for {
		msg, err := readMessage(src, &buf)
		if err != nil {
			return err
		}
		if p.faults != nil {
			if cmd, coll, db, ok := commandOf(msg); ok {
				if r := p.faults.match(msg, cmd, coll, db); r != nil {
					switch r.Action {
					case "hold":
						if !p.faults.hold(ctx, r, connDone) {
							p.faults.setOutcome(r, "dropped")
							return errDropped
						}
						p.faults.setOutcome(r, "forwarded")
					case "drop":
						p.faults.setOutcome(r, "dropped")
						return errDropped
					case "error":
						reqID := int32(binary.LittleEndian.Uint32(msg[4:8]))
						p.faults.setOutcome(r, "replied")
						if _, err := client.Write(errorReply(reqID, r.Code, r.Message)); err != nil {
							return err
						}
						continue
					}
				}
			}
		}
		if p.faults != nil {
			p.emulateDropTarget(msg)
		}
		if _, err := dst.Write(msg); err != nil {
			return err
		}
	}
}

// readMessage reads one whole wire message into *buf (grown as needed) and
// returns it.
func readMessage(src io.Reader, buf *[]byte) ([]byte, error) {
	if len(*buf) < 64*1024 {
		*buf = make([]byte, 64*1024)
	}
	b := *buf
	if _, err := io.ReadFull(src, b[:wireHeaderLen]); err != nil {
		return nil, err
	}
	n := int(int32(binary.LittleEndian.Uint32(b[:4])))
	if n < wireHeaderLen || n > wireMaxMsgLen {
		return nil, fmt.Errorf("bad message length %d", n)
	}
	if n > len(b) {
		nb := make([]byte, n)
		copy(nb, b[:wireHeaderLen])
		b = nb
		*buf = b
	}
	msg := b[:n]
	if _, err := io.ReadFull(src, msg[wireHeaderLen:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// copyReplies copies whole wire messages from src to dst, patching
// maxWriteBatchSize in OP_MSG / OP_REPLY bodies.
func (p *proxy) copyReplies(dst io.Writer, src io.Reader) error {
	var buf []byte
	for {
		msg, err := readMessage(src, &buf)
		if err != nil {
			return err
		}
		op := int32(binary.LittleEndian.Uint32(msg[12:16]))
		switch {
		case op == opReply:
			p.patch(msg[wireHeaderLen:])
		case op == opMsg && len(msg) >= wireHeaderLen+4 &&
			binary.LittleEndian.Uint32(msg[wireHeaderLen:])&1 == 0: // no checksum
			p.patch(msg[wireHeaderLen:])
		}
		if _, err := dst.Write(msg); err != nil {
			return err
		}
	}
}

// patch lowers every int32 maxWriteBatchSize element in body (in place; the
// value has a fixed size, so lengths do not change). FerretDB does not use
// OP_MSG checksums, so nothing else needs updating.
func (p *proxy) patch(body []byte) {
	off := 0
	for {
		i := bytes.Index(body[off:], maxWriteBatchElem)
		if i < 0 {
			return
		}
		v := off + i + len(maxWriteBatchElem)
		if v+4 > len(body) {
			return
		}
		if int32(binary.LittleEndian.Uint32(body[v:v+4])) > p.maxBatch {
			binary.LittleEndian.PutUint32(body[v:v+4], uint32(p.maxBatch))
		}
		off = v + 4
	}
}
