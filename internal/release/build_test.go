package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReproducible builds one target from two fresh clones of the
// committed HEAD, in different directories, and gets the same bytes: the
// archive, SHA256SUMS and MODULES.txt. The archive holds the binary with
// the commit's revision and time, entries owned by 0:0, timed at the commit.
func TestReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pgtriage twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	head := git(t, root, "rev-parse", "HEAD")
	var outs [2]string
	for i := range outs {
		clone := filepath.Join(t.TempDir(), "src")
		git(t, root, "clone", "-q", "--no-checkout", root, clone)
		git(t, clone, "checkout", "-q", head)
		outs[i] = t.TempDir()
		if _, err := build(ctx, clone, outs[i], []string{"linux/amd64"}); err != nil {
			t.Fatal(err)
		}
	}
	names, err := os.ReadDir(outs[0])
	if err != nil {
		t.Fatal(err)
	}
	var archive []byte
	for _, e := range names {
		a, err := os.ReadFile(filepath.Join(outs[0], e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(outs[1], e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the two builds", e.Name())
		}
		if strings.HasSuffix(e.Name(), ".tar.gz") {
			archive = a
			// The version is the module's (a tag, or go's pseudo-version, which ends in the commit).
			if !strings.HasPrefix(e.Name(), "pgtriage_") || !strings.HasSuffix(e.Name(), head[:12]+"_linux_amd64.tar.gz") {
				t.Errorf("archive %s, want pgtriage_VERSION_linux_amd64.tar.gz with the version ending in %s", e.Name(), head[:12])
			}
		}
	}
	if len(names) != 3 || archive == nil {
		t.Fatalf("dist holds %v, want the archive, SHA256SUMS and MODULES.txt", names)
	}
	when, err := time.Parse(time.RFC3339, git(t, "..", "show", "-s", "--format=%cI", head))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var entries []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		entries = append(entries, h.Name)
		if !h.ModTime.Equal(when) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: time %v owner %d:%d, want %v 0:0", h.Name, h.ModTime, h.Uid, h.Gid, when)
		}
	}
	if len(entries) != 3 || !strings.HasSuffix(entries[2], "/pgtriage") {
		t.Errorf("entries %q", entries)
	}
	mods, _ := os.ReadFile(filepath.Join(outs[0], "MODULES.txt"))
	if !strings.Contains(string(mods), "github.com/jackc/pgx/v5 v") {
		t.Errorf("MODULES.txt lacks pgx:\n%s", mods)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
