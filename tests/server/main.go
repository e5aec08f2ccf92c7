// Command swefreq-testserver runs an embedded FerretDB (SQLite backend) as a
// MongoDB-compatible server for the swefreq-load test suite.
//
// Usage:
//
//	swefreq-testserver -listen 127.0.0.1:0 -dir DATA_DIR [-port-file FILE]
//	                   [-log-level warn] [-max-write-batch 99] [-synchronous normal]
//	                   [-control-file FILE]
//
// By default clients talk to a small built-in proxy that lowers the
// advertised maxWriteBatchSize (see proxy.go for the FerretDB deadlock this
// avoids); -max-write-batch 0 exposes FerretDB directly. With the proxy, a
// loopback HTTP control port lets tests inject faults (faults.go); its
// address is written to -control-file.
//
// Once the server accepts connections it prints exactly one line
// "listening HOST:PORT" to stdout and, if -port-file is given, atomically
// writes the port number to that file. SIGTERM or SIGINT shut it down
// cleanly (exit status 0).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// shutdownGrace is how long a clean shutdown may take before we give up and
// exit with an error (so that callers never hang on a stuck server).
const shutdownGrace = 8 * time.Second

func main() {
	os.Exit(run())
}

func run() int {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on (port 0 picks a free port)")
	dir := flag.String("dir", "", "data directory for the SQLite backend (created if missing)")
	portFile := flag.String("port-file", "", "if set, write the bound port number to this file once listening")
	logLevel := flag.String("log-level", "warn", "FerretDB log level: debug, info, warn or error (logs go to stderr)")
	synchronous := flag.String("synchronous", "normal",
		"SQLite synchronous pragma (off, normal, full, extra); normal skips the fsync per commit "+
			"(safe against the server being killed, not against OS crashes); empty = FerretDB default")
	maxBatch := flag.Int("max-write-batch", 99,
		"advertise this maxWriteBatchSize in hello replies (via a built-in proxy) to avoid FerretDB's "+
			"deadlock on update commands with >= 100 statements; 0 = no proxy, FerretDB's own 100000")
	controlFile := flag.String("control-file", "",
		"if set (needs the proxy), serve the fault-injection control port on 127.0.0.1 and write "+
			"its HOST:PORT to this file")
	flag.Parse()

	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "swefreq-testserver: unexpected arguments: %v\n", flag.Args())
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "swefreq-testserver: -dir is required")
		return 2
	}

	if *controlFile != "" && *maxBatch == 0 {
		fmt.Fprintln(os.Stderr, "swefreq-testserver: -control-file needs the proxy (-max-write-batch > 0)")
		return 2
	}
	if *maxBatch < 0 || *maxBatch > 100000 {
		fmt.Fprintln(os.Stderr, "swefreq-testserver: -max-write-batch must be between 0 and 100000")
		return 2
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "swefreq-testserver: bad -log-level %q: %v\n", *logLevel, err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	absDir, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "swefreq-testserver: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "swefreq-testserver: %v\n", err)
		return 1
	}
	// Build "file:///abs/dir/" with proper escaping so that unusual
	// characters in the path cannot be mistaken for URI syntax.
	sqliteU := url.URL{Scheme: "file", Path: filepath.ToSlash(absDir) + "/"}
	if *synchronous != "" {
		switch *synchronous {
		case "off", "normal", "full", "extra":
		default:
			fmt.Fprintf(os.Stderr, "swefreq-testserver: bad -synchronous %q\n", *synchronous)
			return 2
		}
		sqliteU.RawQuery = url.Values{"_pragma": {"synchronous(" + *synchronous + ")"}}.Encode()
	}
	sqliteURL := sqliteU.String()

	// Install signal handling before anything can block.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// With the proxy, clients connect to our listener and FerretDB listens on
	// a private loopback port; without it FerretDB listens on -listen itself.
	var publicLn net.Listener
	ferretAddr := *listen
	if *maxBatch > 0 {
		if publicLn, err = net.Listen("tcp", *listen); err != nil {
			fmt.Fprintf(os.Stderr, "swefreq-testserver: %v\n", err)
			return 1
		}
		defer publicLn.Close()
		ferretAddr = "127.0.0.1:0"
	}

	// ferretdb.New binds the TCP listener itself; port 0 is fine and the
	// real address is available via MongoDBURI() right after New returns.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: ferretAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "swefreq-testserver: %v\n", err)
		return 1
	}

	u, err := url.Parse(f.MongoDBURI())
	if err != nil {
		fmt.Fprintf(os.Stderr, "swefreq-testserver: cannot parse MongoDB URI: %v\n", err)
		return 1
	}
	hostPort := u.Host
	backendAddr := u.Host
	if publicLn != nil {
		hostPort = publicLn.Addr().String()
	}
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		fmt.Fprintf(os.Stderr, "swefreq-testserver: bad listen address %q: %v\n", hostPort, err)
		return 1
	}

	ferretDone := make(chan struct{})
	go func() {
		defer close(ferretDone)
		if err := f.Run(ctx); err != nil {
			logger.Error("FerretDB stopped with an error", "error", err)
		}
	}()

	// done is closed when FerretDB and the proxy (if any) have stopped.
	done := ferretDone
	if publicLn != nil {
		fl := newFaults(logger)
		if *controlFile != "" {
			controlLn, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				fmt.Fprintf(os.Stderr, "swefreq-testserver: control port: %v\n", err)
				return 1
			}
			go fl.serveControl(ctx, controlLn)
			if err := writeFileAtomic(*controlFile, []byte(controlLn.Addr().String()+"\n")); err != nil {
				fmt.Fprintf(os.Stderr, "swefreq-testserver: %v\n", err)
				return 1
			}
		}
		proxyDone := make(chan struct{})
		go func() {
			defer close(proxyDone)
			newProxy(publicLn, backendAddr, int32(*maxBatch), fl, logger).run(ctx)
		}()
		done = make(chan struct{})
		go func() {
			<-ferretDone
			<-proxyDone
			close(done)
		}()
	}

	// Make sure the socket really accepts connections before announcing it.
	if err := waitAccepting(ctx, hostPort); err != nil {
		fmt.Fprintf(os.Stderr, "swefreq-testserver: server does not accept connections: %v\n", err)
		stop()
		waitDone(done)
		return 1
	}

	if *portFile != "" {
		if err := writeFileAtomic(*portFile, []byte(port+"\n")); err != nil {
			fmt.Fprintf(os.Stderr, "swefreq-testserver: %v\n", err)
			stop()
			waitDone(done)
			return 1
		}
	}

	// Exactly one line on stdout; os.Stdout is unbuffered.
	fmt.Fprintf(os.Stdout, "listening %s\n", hostPort)
	_ = os.Stdout.Sync()

	select {
	case <-ferretDone:
		// Run returned without a signal: unexpected.
		if ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "swefreq-testserver: FerretDB stopped unexpectedly")
			return 1
		}
	case <-ctx.Done():
	}

	// Shut down (Run returns once the listener and all connections are
	// closed). A second SIGTERM/SIGINT forces an immediate exit.
	stop()
	force := make(chan os.Signal, 1)
	signal.Notify(force, syscall.SIGTERM, syscall.SIGINT)

	select {
	case <-done:
		return 0
	case <-force:
		fmt.Fprintln(os.Stderr, "swefreq-testserver: second signal, exiting immediately")
		return 1
	case <-time.After(shutdownGrace):
		fmt.Fprintln(os.Stderr, "swefreq-testserver: shutdown timed out")
		return 1
	}
}

// waitAccepting dials addr until a TCP connection succeeds (bounded).
func waitAccepting(ctx context.Context, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	if lastErr == nil {
		lastErr = errors.New("timeout")
	}
	return lastErr
}

func waitDone(done <-chan struct{}) {
	select {
	case <-done:
	case <-time.After(shutdownGrace):
	}
}

// writeFileAtomic writes data to a temporary file next to path and renames it
// into place, so readers never see a partially written file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(name)
		return err
	}
	if err := os.Chmod(name, 0o644); err != nil {
		_ = os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return err
	}
	return nil
}
