package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pgtriage/pgtriage/internal/termtext"
)

// exitError carries the process exit code of a command; execute turns it into the code at one place.
type exitError struct {
	Code int
	Err  error // nil when the command already printed what it had to say
}

func (e *exitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *exitError) Unwrap() error { return e.Err }

// The exit codes every command shares (DESIGN.md): runtimeExit for a command that failed while running, unless it
// names another code; usageExit for a command line that cannot be understood, as for invalid settings.
const (
	runtimeExit = 1
	usageExit   = 3
)

// newRootCmd builds the command tree. Tests call it with their own streams.
func newRootCmd(stdin io.Reader, stdout, stderr io.Writer, d deps) *cobra.Command {
	root := &cobra.Command{
		Use:   "pgtriage",
		Short: "Find out why a PostgreSQL connection fails and what to do about it",
		Long: `pgtriage diagnoses PostgreSQL connection failures layer by layer (settings, DNS, TCP, TLS,
authentication, server state), says whether a failure is transient or needs a change, and gives
the next steps.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       currentVersion().String(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(commands(d)...)
	for _, c := range root.Commands() {
		failWithRuntimeExit(c)
	}
	return root
}

// failWithRuntimeExit makes an error the command returns while running exit runtimeExit unless it carries its own
// code: what cobra reports before running a command (unknown command, wrong arguments) is all that exits usageExit
// without saying so.
func failWithRuntimeExit(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			err := run(cmd, args)
			var ee *exitError
			if err != nil && !errors.As(err, &ee) {
				return &exitError{Code: runtimeExit, Err: err}
			}
			return err
		}
	}
	for _, sub := range c.Commands() {
		failWithRuntimeExit(sub)
	}
}

// execute runs the command line and returns the process exit code.
func execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return executeWith(deps{}, args, stdin, stdout, stderr)
}

// executeWith is execute with dependencies swapped, for tests.
func executeWith(d deps, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr, d)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "pgtriage:", termtext.Lines(ee.Err.Error()))
		}
		return ee.Code
	}
	// Only cobra's own errors get here: the command line could not be understood (and it may quote it: escaped).
	fmt.Fprintln(stderr, "pgtriage:", termtext.Lines(err.Error()))
	return usageExit
}

// usageError is a command line that cannot be understood (exit 3).
func usageError(format string, a ...any) error {
	return &exitError{Code: usageExit, Err: fmt.Errorf(format, a...)}
}

// checkFormat accepts the two output formats every command offers.
func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return usageError("--format must be text or json, not %q", format)
	}
	return nil
}

// writeJSON writes one indented JSON object, the form of every command's --format json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal says whether the reader or writer is a terminal.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	if !ok {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// escapeTerminal says whether w is a terminal that takes escape sequences
// (colour, watch's redraw): on Windows only once its console is told to.
func escapeTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && enableEscapes(f)
}

// terminalSize is the width and height of the terminal f, 0, 0 if unknown.
func terminalSize(f *os.File) (int, int) {
	w, h, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0, 0
	}
	return w, h
}
