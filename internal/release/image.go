package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

//go:embed Dockerfile
var dockerfile []byte

// caBundle is Debian's CA certificates (package ca-certificates): the image
// has no package manager, so the bundle is copied in at build time.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// passwd names the image's one user, unprivileged (65532, as distroless's nonroot).
const passwd = "nonroot:x:65532:65532:nonroot:/:/sbin/nologin\n"

// buildImage builds the FROM-scratch image of the linux binary for this
// machine's architecture, tags it, and returns its size in bytes. Nothing is
// pulled: scratch is no image, so it builds without a registry.
func buildImage(ctx context.Context, src, tag string) (int64, error) {
	b, err := compile(ctx, src, "linux", runtime.GOARCH)
	if err != nil {
		return 0, err
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return 0, fmt.Errorf("CA certificates for the image (install Debian's ca-certificates): %w", err)
	}
	dir, err := os.MkdirTemp("", "pgtriage-image-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	for _, f := range []file{{"Dockerfile", 0o644, dockerfile}, {"pgtriage", 0o755, b.data}, {"ca-certificates.crt", 0o644, ca}, {"passwd", 0o644, []byte(passwd)}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, os.FileMode(f.mode)); err != nil {
			return 0, err
		}
	}
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", tag, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("docker build: %w\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f", "{{.Size}}", tag).Output()
	if err != nil {
		return 0, fmt.Errorf("docker image inspect %s: %w", tag, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}
