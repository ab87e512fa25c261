package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pgtriage/pgtriage/eventlog"
	htmlreport "github.com/pgtriage/pgtriage/report"
)

func newReportCmd() *cobra.Command {
	var output, title string
	cmd := &cobra.Command{
		Use:   "report [flags] EVENTS.jsonl",
		Short: "Turn a watch event log into one self-contained HTML page",
		Long: `report reads the event log of pgtriage watch (--events) and writes one HTML file that needs
nothing else (inline SVG, no script, no fonts or images fetched): an availability timeline per
target with the outages coloured by cause, the outages with their verdicts and next steps, and the
held session's latency over time.`,
		Example: `  pgtriage report events.jsonl -o report.html
  pgtriage report --title "orders fleet, week 47" events.jsonl -o week47.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return &exitError{Code: usageExit, Err: err}
			}
			defer f.Close()
			fold := htmlreport.NewFolder()
			st, err := eventlog.Scan(f, fold.Add)
			if err != nil {
				return usageError("%s: %w", args[0], err)
			}
			if st.Events == 0 {
				return usageError("%s: no watch events (%d lines skipped)", args[0], st.Skipped)
			}
			if p := st.Problems(); p != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "pgtriage report: %s: %s\n", args[0], p)
			}
			if output != "" && output != "-" {
				if err := notOverInput(f, args[0], output); err != nil {
					return err
				}
			}
			var page bytes.Buffer
			if err := fold.Write(&page, htmlreport.Options{Title: title, Source: filepath.Base(args[0]), Skipped: st.Skipped, TooLong: st.TooLong}); err != nil {
				return &exitError{Code: 1, Err: err}
			}
			if output == "" || output == "-" {
				_, err = cmd.OutOrStdout().Write(page.Bytes())
			} else {
				err = os.WriteFile(output, page.Bytes(), 0o644)
			}
			if err != nil {
				return &exitError{Code: 1, Err: err}
			}
			if output != "" && output != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "pgtriage report: %d events, %d targets: %s\n", fold.Events(), fold.Targets(), output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "the HTML file to write (default: standard output)")
	cmd.Flags().StringVar(&title, "title", "", "the page's title")
	return cmd
}

// notOverInput refuses an output file that is the input (the same file by another name too, as os.SameFile
// sees it): writing the page there would destroy the event log it was made from.
func notOverInput(in *os.File, inName, output string) error {
	ist, err := in.Stat()
	if err != nil {
		return &exitError{Code: runtimeExit, Err: err}
	}
	if ost, err := os.Stat(output); err == nil && os.SameFile(ist, ost) {
		return usageError("-o %s is the event log %s itself: writing the report there would destroy the log; choose another file such as report.html", output, inName)
	}
	return nil
}
