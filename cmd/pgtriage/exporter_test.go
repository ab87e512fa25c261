package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pgtriage/pgtriage/internal/pgtest"
	"github.com/pgtriage/pgtriage/watch"
)

// TestWatchExporterTLS runs watch's exporter with TLS and basic auth from an exporter-toolkit web configuration,
// against a real server: scrapes need the CA and the credentials; the landing page, /-/healthy, /-/ready and
// pgtriage_build_info are there.
func TestWatchExporterTLS(t *testing.T) {
	pgtest.Isolate(t)
	c := pgtest.Start(t, pgtest.Options{Roles: []pgtest.Role{{Name: "app", Password: watchPassword}}})
	ca := pgtest.NewCA(t)
	cert, key := ca.Issue(t, []string{"127.0.0.1"}, time.Time{}, time.Time{})
	const webPassword = "scrape-secret-81"
	hash, err := bcrypt.GenerateFromPassword([]byte(webPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(webConfig, fmt.Appendf(nil, "tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n",
		cert, key, hash), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- executeWith(deps{}, []string{"watch", "--for", "8s", "--interval", "100ms",
			"--web.listen-address", "127.0.0.1:0", "--web.config.file", webConfig,
			c.ConnString("user=app", "password="+watchPassword, "dbname=postgres")}, strings.NewReader(""), &stdout, &stderr)
	}()
	var base string
	for deadline := time.Now().Add(60 * time.Second); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`metrics at (https://\S+)/metrics`).FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no https metrics address on stderr: %q", stderr.String())
		}
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(path, user, password string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get("/metrics", "", ""); st != http.StatusUnauthorized {
		t.Errorf("/metrics without credentials: %d, want 401", st)
	}
	if st, _ := get("/metrics", "prometheus", "wrong"); st != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong password: %d, want 401", st)
	}
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/metrics"); err == nil {
		t.Errorf("a client without the CA got through")
	}
	if resp, err := http.Get(strings.Replace(base, "https:", "http:", 1) + "/-/healthy"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP answered 200 on the TLS listener")
		}
	}
	if st, body := get("/", "prometheus", webPassword); st != http.StatusOK || !strings.Contains(body, "pgtriage") || !strings.Contains(body, `href="/metrics"`) {
		t.Errorf("landing page: %d\n%s", st, body)
	}
	if st, body := get("/-/healthy", "prometheus", webPassword); st != http.StatusOK || body != "Healthy\n" {
		t.Errorf("/-/healthy: %d %q", st, body)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, body := get("/-/ready", "prometheus", webPassword)
		if st == http.StatusOK && body == "Ready\n" {
			break
		}
		if st != http.StatusServiceUnavailable || !strings.HasPrefix(body, "Not ready: 1 of 1 targets") || time.Now().After(deadline) {
			t.Fatalf("/-/ready: %d %q", st, body)
		}
	}
	st, metrics := get("/metrics", "prometheus", webPassword)
	if st != http.StatusOK {
		t.Fatalf("/metrics: %d", st)
	}
	for _, re := range []string{`(?m)^pgtriage_build_info\{.*goversion="go[^"]+".*\} 1$`, `(?m)^pgtriage_up\{target="app@127\.0\.0\.1:\d+/postgres"\} 1$`} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("metrics lack %s:\n%s", re, metrics)
		}
	}
	select {
	case got := <-code:
		if got != 0 {
			t.Fatalf("exit %d\n%s\n%s", got, stdout.String(), stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("watch --for 8s did not return")
	}
	if all := stdout.String() + stderr.String() + metrics; strings.Contains(all, watchPassword) || strings.Contains(all, webPassword) {
		t.Fatalf("a password leaked")
	}
}

// TestReadyHandler: 503 with the reason until ready, then 200.
func TestReadyHandler(t *testing.T) {
	ready, why := false, "Not ready: 2 of 3 targets have no result yet"
	h := readyHandler(func() (bool, string) { return ready, why })
	for _, want := range []int{http.StatusServiceUnavailable, http.StatusOK} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/-/ready", nil))
		if rec.Code != want || rec.Body.String() != why+"\n" {
			t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body.String(), want, why)
		}
		ready, why = true, "Ready"
	}
}

// TestExporterFlagErrors: a bad web configuration or one without a listener is a usage error.
func TestExporterFlagErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "web.yml")
	if err := os.WriteFile(bad, []byte("tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"watch", "--web.listen-address", "127.0.0.1:0", "--web.config.file", bad, "host=localhost"}, "--web.config.file"},
		{[]string{"watch", "--web.config.file", bad, "host=localhost"}, "--web.config.file needs --web.listen-address"},
		{[]string{"watch", "--web.listen-address", "256.0.0.1:1", "host=localhost"}, "--web.listen-address"},
	} {
		var out, errOut strings.Builder
		if got := executeWith(deps{}, tc.args, strings.NewReader(""), &out, &errOut); got != usageExit || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, got, errOut.String(), usageExit, tc.want)
		}
	}
}

// TestWatchShardFlag: a malformed --shard, and a shard that keeps none of the targets, are usage errors.
func TestWatchShardFlag(t *testing.T) {
	tg, err := watch.LoadTarget("host=127.0.0.1 port=1 user=app dbname=postgres")
	if err != nil {
		t.Fatal(err)
	}
	other := "0/2"
	if (watch.Shard{Index: 0, Count: 2}).Has(tg.Name) {
		other = "1/2"
	}
	for _, tc := range []struct{ shard, want string }{{"2/2", "want I/N"}, {other, "keeps none of the 1 targets"}} {
		var out, errOut strings.Builder
		if got := executeWith(deps{}, []string{"watch", "--shard", tc.shard, "--for", "1s", "host=127.0.0.1 port=1 user=app dbname=postgres"},
			strings.NewReader(""), &out, &errOut); got != usageExit || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("--shard %s: exit %d, stderr %q; want %d and %q", tc.shard, got, errOut.String(), usageExit, tc.want)
		}
	}
}
