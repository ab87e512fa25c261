package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgtriage/pgtriage/faultproxy"
	"github.com/pgtriage/pgtriage/internal/pgtest"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitOutput waits until re matches the output and returns its submatches.
func waitOutput(t *testing.T, out *syncBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the output:\n%s", re, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runProxyCmd runs `pgtriage proxy` with args until the test ends, and returns its output.
func runProxyCmd(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := newProxyCmd()
	cmd.SetOut(out)
	cmd.SetArgs(args)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy command: %v", err)
		}
	})
	return out
}

// TestProxyCommand runs `pgtriage proxy` in front of a real server and
// drives it through its HTTP control API.
func TestProxyCommand(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: "s3cret-pw"}}})
	out := runProxyCmd(t, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
		"--upstream", net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		"--fault", `{"kind":"latency","delay":"1ms"}`)
	listen := waitOutput(t, out, regexp.MustCompile(`listening on (\S+),`))[1]
	control := "http://" + waitOutput(t, out, regexp.MustCompile(`control API on http://(\S+)/faults`))[1]
	host, port, _ := net.SplitHostPort(listen)
	connString := fmt.Sprintf("host=%s port=%s user=app password=s3cret-pw dbname=postgres sslmode=disable connect_timeout=10", host, port)

	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, control+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	connectErr := func() error {
		cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := pgconn.Connect(cctx, connString)
		if err == nil {
			conn.Close(cctx)
		}
		return err
	}

	if err := connectErr(); err != nil {
		t.Fatalf("through the proxy with a latency fault: %v", err)
	}
	code, body := call("POST", "/faults", `{"kind":"error","cause":"server.starting_up"}`)
	var f faultproxy.Fault
	if code != http.StatusCreated || json.Unmarshal([]byte(body), &f) != nil || f.ID == "" {
		t.Fatalf("POST /faults: %d %s", code, body)
	}
	var pe *pgconn.PgError
	if err := connectErr(); !errors.As(err, &pe) || pe.Code != "57P03" {
		t.Errorf("with the fault: %v, want 57P03", err)
	}
	code, body = call("GET", "/faults", "")
	var list []faultproxy.Fault
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 2 || list[1].ID != f.ID {
		t.Errorf("GET /faults: %d %s", code, body)
	}
	if code, body := call("DELETE", "/faults/"+f.ID, ""); code != http.StatusNoContent {
		t.Errorf("DELETE /faults/%s: %d %s", f.ID, code, body)
	}
	if code, _ := call("DELETE", "/faults/"+f.ID, ""); code != http.StatusNotFound {
		t.Errorf("DELETE of a fault that is gone: %d", code)
	}
	if code, body := call("POST", "/faults", `{"kind":"error","cause":"no.such"}`); code != http.StatusBadRequest || !strings.Contains(body, "no.such") {
		t.Errorf("POST of a bad cause: %d %s", code, body)
	}
	if code, body := call("POST", "/faults", `{"kind":"latency","delay":"1ms","colour":"red"}`); code != http.StatusBadRequest {
		t.Errorf("POST with an unknown field: %d %s", code, body)
	}
	if code, _ := call("DELETE", "/faults", ""); code != http.StatusNoContent {
		t.Errorf("DELETE /faults: %d", code)
	}
	if err := connectErr(); err != nil {
		t.Errorf("after the faults went: %v", err)
	}
	if code, body := call("GET", "/sessions", ""); code != 200 || !strings.Contains(body, `"sessions":`) {
		t.Errorf("GET /sessions: %d %s", code, body)
	}
	waitOutput(t, out, regexp.MustCompile(`conn=\d+ client=\S+ fault user="app" database="postgres" fault="f2" kind="error" sqlstate="57P03"`))
	waitOutput(t, out, regexp.MustCompile(`conn=\d+ client=\S+ session user="app"`))
	if strings.Contains(out.String(), "s3cret-pw") {
		t.Errorf("password in the output:\n%s", out)
	}
}

func TestProxyCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"proxy"},
		{"proxy", "--upstream", "127.0.0.1:5432", "--upstream-sslmode", "prefer"},
		{"proxy", "--upstream", "127.0.0.1:5432", "--tls-cert", "x.pem"},
		{"proxy", "--upstream", "127.0.0.1:5432", "--fault", `{"kind":"sideways"}`},
		{"proxy", "--upstream", "127.0.0.1:5432", "--fault", `{"kind":`},
		// Every interface without a token: anyone on the network could inject faults.
		{"proxy", "--upstream", "127.0.0.1:5432", "--control", "0.0.0.0:0"},
		{"proxy", "--upstream", "127.0.0.1:5432", "--control", ":0"},
		{"proxy", "--upstream", "127.0.0.1:5432", "--control", "127.0.0.1:0", "--control-token-file", "/nonexistent/token"},
	} {
		_, errOut, code := run(t, deps{}, append(args, "--listen", "127.0.0.1:0")...)
		if code != usageExit || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, errOut, usageExit)
		}
	}
}

// TestProxyControlToken: with a token, every control request must carry it; the token is never printed.
func TestProxyControlToken(t *testing.T) {
	const token = "c0ntrol-t0ken-9f2"
	file := t.TempDir() + "/token"
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The upstream is never dialled: no client connects.
	out := runProxyCmd(t, "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--control", "127.0.0.1:0", "--control-token-file", file)
	t.Cleanup(func() {
		if strings.Contains(out.String(), token) {
			t.Errorf("token in the output:\n%s", out)
		}
	})
	control := "http://" + waitOutput(t, out, regexp.MustCompile(`control API on http://(\S+)/faults`))[1]
	client := &http.Client{Timeout: time.Minute}
	for _, tt := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer " + token, 201}} {
		req, err := http.NewRequest("POST", control+"/faults", strings.NewReader(`{"kind":"refuse"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want || strings.Contains(string(body), token) {
			t.Errorf("Authorization %q: %d %s, want %d", tt.auth, resp.StatusCode, body, tt.want)
		}
	}
}
