package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgtriage/pgtriage/internal/pgtest"
)

const imagePassword = "image-test-secret"

// TestImage builds the FROM-scratch image and runs it for real: check against
// a cluster on the host, reached over Docker's bridge network, gives ok, a
// wrong password and a refused port give their codes and exit statuses;
// watch's metrics are scraped from outside through a port published on
// loopback; the process runs as a user other than root; the image holds the
// binary, the CA bundle and the passwd file, nothing else, in at most 25 MB.
func TestImage(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		pgtest.Missing(t, "the image test needs Docker: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		pgtest.Missing(t, "the image test needs a running Docker engine: %v\n%s", err, out)
	}
	// A bridge network of the test's own: the container reaches the host at
	// its gateway address, where the cluster listens too, and pg_hba lets
	// the network's subnet in.
	network := fmt.Sprintf("pgtriage-test-%d", os.Getpid())
	dockerOut(t, ctx, "network", "create", network)
	t.Cleanup(func() { exec.Command("docker", "network", "rm", network).Run() })
	gw := dockerOut(t, ctx, "network", "inspect", network, "-f", "{{(index .IPAM.Config 0).Gateway}}")
	subnet := dockerOut(t, ctx, "network", "inspect", network, "-f", "{{(index .IPAM.Config 0).Subnet}}")
	c := pgtest.Start(t, pgtest.Options{
		Conf:  map[string]string{"listen_addresses": "127.0.0.1," + gw},
		HBA:   []string{"local all all trust", "host all all " + subnet + " scram-sha-256"},
		Roles: []pgtest.Role{{Name: "app", Password: imagePassword}},
	})

	tag := fmt.Sprintf("pgtriage-test:%d", os.Getpid())
	size, err := buildImage(ctx, "../..", tag)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("docker", "image", "rm", "-f", tag).Run() })
	t.Logf("image %s: %d bytes (%.1f MB)", tag, size, float64(size)/1e6)
	if size > 25e6 {
		t.Errorf("image is %.1f MB, more than 25 MB", float64(size)/1e6)
	}

	t.Run("files", func(t *testing.T) {
		got := imageFiles(t, ctx, tag)
		want := []string{"etc/passwd", "etc/ssl/certs/ca-certificates.crt", "pgtriage"}
		if !slices.Equal(got, want) {
			t.Errorf("image files %q, want only %q", got, want)
		}
		if u := dockerOut(t, ctx, "image", "inspect", "-f", "{{.Config.User}}", tag); u != "65532:65532" {
			t.Errorf("image user %q, want 65532:65532", u)
		}
	})

	conn := func(port int, password string) string {
		return fmt.Sprintf("host=%s port=%d user=app password=%s dbname=postgres sslmode=disable connect_timeout=10", gw, port, password)
	}
	// A port on the gateway address where nothing listens.
	refused := freePort(t, gw)
	for _, tc := range []struct {
		name, conn string
		exit       int
		code       string
	}{
		{"healthy", conn(c.Port, imagePassword), 0, "ok"},
		{"wrong password", conn(c.Port, "wrong-"+imagePassword), 1, "auth.password_failed"},
		{"refused", conn(refused, imagePassword), 2, "tcp.refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", network, tag, "check", "--format", "json", tc.conn)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			exit := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			var report struct {
				Diagnosis struct{ Code string } `json:"diagnosis"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
				t.Fatalf("check output: %v\n%s\n%s", err, stdout.Bytes(), stderr.Bytes())
			}
			if exit != tc.exit || report.Diagnosis.Code != tc.code {
				t.Errorf("exit %d, code %q; want exit %d, code %q\n%s", exit, report.Diagnosis.Code, tc.exit, tc.code, stdout.Bytes())
			}
			if strings.Contains(stdout.String()+stderr.String(), imagePassword) {
				t.Error("the password appears in the output")
			}
		})
	}

	t.Run("watch", func(t *testing.T) {
		id := dockerOut(t, ctx, "run", "-d", "--rm", "--network", network, "-p", "127.0.0.1::9188", tag,
			"watch", "--interval", "200ms", "--metrics-addr", ":9188", conn(c.Port, imagePassword))
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })
		hostPort := dockerOut(t, ctx, "port", id, "9188/tcp")
		metrics := "http://" + strings.Split(hostPort, "\n")[0] + "/metrics"
		want := `pgtriage_up{target="app@` + gw + ":" + strconv.Itoa(c.Port) + `/postgres"} 1`
		var body string
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(body, want) {
			if time.Now().After(deadline) {
				logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
				t.Fatalf("no %s from %s\nlast scrape:\n%s\ncontainer log:\n%s", want, metrics, body, logs)
			}
			body = scrape(metrics)
			time.Sleep(100 * time.Millisecond) // polling a scrape until it shows the event
		}
		// The watch process, as the host sees it, runs as the image's user.
		uids := dockerOut(t, ctx, "top", id, "-o", "pid,uid,comm")
		if !strings.Contains(uids, " 65532 ") || strings.Contains(uids, " 0 ") {
			t.Errorf("processes in the container:\n%s\nwant uid 65532, none as root", uids)
		}
	})
}

func dockerOut(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", args...).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

func scrape(url string) string {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b)
}

// freePort is a TCP port on addr with nothing listening (the kernel's choice, released).
func freePort(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// imageFiles lists the regular files of the image's layers, from docker save.
func imageFiles(t *testing.T, ctx context.Context, tag string) []string {
	t.Helper()
	saved, err := exec.CommandContext(ctx, "docker", "save", tag).Output()
	if err != nil {
		t.Fatalf("docker save: %v", err)
	}
	var files []string
	outer := tar.NewReader(bytes.NewReader(saved))
	for {
		h, err := outer.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if path.Base(h.Name) != "layer.tar" && !strings.HasPrefix(h.Name, "blobs/") {
			continue
		}
		layer := tar.NewReader(outer)
		for {
			lh, err := layer.Next()
			if err != nil {
				break // the end, or a blob that is no layer (a config)
			}
			if lh.Typeflag == tar.TypeReg {
				files = append(files, lh.Name)
			}
		}
	}
	slices.Sort(files)
	return files
}
