// Command release builds pgtriage for every platform into reproducible
// archives, and the container image.
//
//	go run ./internal/release                      # every target into dist/
//	go run ./internal/release -targets linux/amd64 -out /tmp/d
//	go run ./internal/release -image pgtriage:dev  # also the FROM-scratch image (needs docker)
//
// Each target is built with CGO_ENABLED=0, -trimpath and the VCS stamp, and
// packed as pgtriage_VERSION_OS_ARCH.tar.gz (.zip for Windows) with the
// README. Every time in the archives is the commit's time, every owner
// 0:0, the entries in a fixed order, so that building the same commit again,
// in any directory, gives the same bytes. dist/SHA256SUMS lists the archives;
// dist/MODULES.txt the modules compiled into each binary, from its build
// information. It runs from a clone: Go writes no VCS stamp in a git
// worktree (a .git file instead of a directory).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
)

// targets are the platforms of a release.
var targets = []string{
	"linux/amd64", "linux/arm64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
	"freebsd/amd64",
}

func main() {
	out := flag.String("out", "dist", "directory for the archives, SHA256SUMS and MODULES.txt")
	only := flag.String("targets", strings.Join(targets, ","), "comma-separated GOOS/GOARCH list")
	image := flag.String("image", "", "also build the container image with this tag from the linux/amd64 binary")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, ".", *out, strings.Split(*only, ","), *image); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, src, out string, list []string, image string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	r, err := build(ctx, src, out, list)
	if err != nil {
		return err
	}
	for _, a := range r.archives {
		fmt.Println(a)
	}
	if image == "" {
		return nil
	}
	size, err := buildImage(ctx, src, image)
	if err != nil {
		return err
	}
	fmt.Printf("image %s: %.1f MB\n", image, float64(size)/1e6)
	return nil
}
