package main

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// TestCheckStreamsStages: against a port that accepts and then says nothing, the header and the stages that ended
// (settings, dns, tcp) reach a pipe while the check still waits on the silent peer; the verdict comes last, once
// the peer hangs up. No time is assumed: the peer stays silent until the test has read the tcp line.
func TestCheckStreamsStages(t *testing.T) {
	pgtest.Isolate(t)
	t.Setenv("NO_COLOR", "1")
	port, hangUp := silentPeer(t)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := executeWith(deps{}, []string{"check", "-h", "127.0.0.1", "-p", port, "-U", "app", "-t", "60", "sslmode=disable"}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
		done <- code
	}()
	r := bufio.NewReader(pr)
	var got []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the output ended before the tcp stage: %v\n%s", err, strings.Join(got, ""))
		}
		got = append(got, line)
		if strings.Contains(line, " tcp ") {
			break
		}
	}
	select {
	case <-done:
		t.Fatalf("the check ended before the silent peer hung up:\n%s", strings.Join(got, ""))
	default:
	}
	if !strings.HasPrefix(got[0], "pgtriage check app@127.0.0.1:"+port) || !strings.Contains(strings.Join(got, ""), "✓ settings") {
		t.Errorf("want the header then the settings stage first:\n%s", strings.Join(got, ""))
	}
	hangUp()
	rest, _ := io.ReadAll(r)
	code := <-done
	all := strings.Join(got, "") + string(rest)
	if code == 0 || !strings.Contains(string(rest), "Verdict: ") || strings.Count(all, "pgtriage check ") != 1 {
		t.Errorf("exit %d; want one header, the stages, then the verdict:\n%s", code, all)
	}
	if strings.Contains(all, "… running") {
		t.Errorf("the running line is for terminals only:\n%s", all)
	}
}

// silentPeer listens on a loopback port, accepts and never says a word; hangUp closes it all.
func silentPeer(t *testing.T) (port string, hangUp func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	hangUp = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(hangUp)
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return port, hangUp
}
