package main

// A tiny TCP proxy in front of FerretDB that lowers maxWriteBatchSize in
// hello/isMaster replies.
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

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newProxy(ln net.Listener, backend string, maxBatch int32, logger *slog.Logger) *proxy {
	return &proxy{ln: ln, backend: backend, maxBatch: maxBatch, logger: logger, conns: make(map[net.Conn]struct{})}
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
	go func() {
		_, _ = io.Copy(backend, client) // requests pass unchanged
		closeWrite(backend)
		done <- struct{}{}
	}()
	go func() {
		if err := p.copyReplies(client, backend); err != nil && ctx.Err() == nil {
			p.logger.Debug("proxy reply stream ended", "error", err)
		}
		closeWrite(client)
		done <- struct{}{}
	}()
	<-done
	// One direction ended: tear down both so the other goroutine returns.
	_ = client.Close()
	_ = backend.Close()
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// copyReplies copies whole wire messages from src to dst, patching
// maxWriteBatchSize in OP_MSG / OP_REPLY bodies.
func (p *proxy) copyReplies(dst io.Writer, src io.Reader) error {
	buf := make([]byte, 64*1024)
	for {
		if _, err := io.ReadFull(src, buf[:wireHeaderLen]); err != nil {
			return err
		}
		n := int(int32(binary.LittleEndian.Uint32(buf[:4])))
		if n < wireHeaderLen || n > wireMaxMsgLen {
			return fmt.Errorf("bad message length %d", n)
		}
		if n > len(buf) {
			nb := make([]byte, n)
			copy(nb, buf[:wireHeaderLen])
			buf = nb
		}
		msg := buf[:n]
		if _, err := io.ReadFull(src, msg[wireHeaderLen:]); err != nil {
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
