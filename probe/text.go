package probe

import (
	"fmt"
	"io"
	"strings"

	"github.com/pgtriage/pgtriage/catalog"
	"github.com/pgtriage/pgtriage/internal/termtext"
)

// TextOptions shape the text form of a report.
type TextOptions struct {
	Color bool // ANSI colours: only on a terminal, never with NO_COLOR (the caller decides)
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

var marks = map[StageStatus]struct{ mark, color string }{
	StageOK:   {"✓", ansiGreen},
	StageWarn: {"!", ansiYellow},
	StageFail: {"✗", ansiRed},
	StageSkip: {"-", ansiDim},
}

// paint colours s when colours are on.
func (o TextOptions) paint(color, s string) string {
	if !o.Color || color == "" {
		return s
	}
	return color + s + ansiReset
}

// WriteText writes the report for people: a line a stage with its mark, timing and key fact; the settings and
// where they came from; findings; the verdict with its evidence; numbered next steps; the trace when it was kept.
// WriteHeader, WriteStage and WriteBody write the same in pieces, for a caller that shows each stage as it ends.
// Every text that a server, a certificate or the settings put in the report is escaped (termtext.Escape).
func (r *Report) WriteText(w io.Writer, opts TextOptions) error {
	var b strings.Builder
	WriteHeader(&b, r.Target, opts)
	for _, st := range r.Stages {
		WriteStage(&b, st, opts)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return r.WriteBody(w, opts)
}

// WriteHeader writes the first line of a check's text.
func WriteHeader(w io.Writer, target string, opts TextOptions) {
	fmt.Fprintf(w, "%s %s\n\n", opts.paint(ansiBold, "pgtriage check"), termtext.Escape(target))
}

// WriteStage writes one stage's line.
func WriteStage(w io.Writer, st Stage, opts TextOptions) {
	m := marks[st.Status]
	timing := "        "
	if st.DurationMS > 0 {
		timing = fmt.Sprintf("%6.1fms", st.DurationMS)
	}
	fact := st.Detail
	if st.Address != "" && !strings.Contains(fact, st.Address) {
		fact = st.Address + ": " + fact
	}
	fmt.Fprintf(w, "  %s %-9s %s  %s\n", opts.paint(m.color, m.mark), st.Name, opts.paint(ansiDim, timing), termtext.Escape(fact))
}

// WriteBody writes what follows the stages: settings, findings, the verdict, the next steps and the trace.
func (r *Report) WriteBody(w io.Writer, opts TextOptions) error {
	paint, esc := opts.paint, termtext.Escape
	var b strings.Builder
	if len(r.Settings) > 0 {
		b.WriteString("\nSettings (value, where it came from):\n")
		for _, p := range r.Settings {
			fmt.Fprintf(&b, "  %-32s %s\n", esc(p.Keyword+"="+p.Value), paint(ansiDim, esc(p.Source.String())))
		}
	}
	if len(r.Findings) > 0 {
		b.WriteString("\nFindings:\n")
		for _, f := range r.Findings {
			color := ansiDim
			if f.Severity == "warning" {
				color = ansiYellow
			}
			fmt.Fprintf(&b, "  %s %s %s\n", paint(color, "!"), paint(color, f.Code+":"), esc(f.Summary))
			for _, step := range f.Steps {
				fmt.Fprintf(&b, "      - %s\n", esc(step))
			}
		}
	}
	d := r.Diagnosis
	verdictColor := ansiGreen
	if d.Code != catalog.OK {
		verdictColor = ansiRed
	}
	kind := "persistent: needs a change"
	if d.Transient {
		kind = "transient: usually clears by itself, retry"
	}
	if d.Code == catalog.OK {
		warnings := 0
		for _, f := range r.Findings {
			if f.Severity == "warning" {
				warnings++
			}
		}
		note := ""
		if warnings > 0 {
			note = fmt.Sprintf(" (%d warning%s above)", warnings, map[bool]string{true: "s"}[warnings > 1])
		}
		fmt.Fprintf(&b, "\n%s  %s%s\n", paint(verdictColor+ansiBold, "Verdict: ok"), esc(d.Summary), note)
	} else {
		fmt.Fprintf(&b, "\n%s (%s; %s)\n  %s\n", paint(verdictColor+ansiBold, "Verdict: "+string(d.Code)), d.Category, kind, esc(d.Summary))
	}
	if d.Evidence != "" {
		fmt.Fprintf(&b, "  Evidence: %s\n", esc(d.Evidence))
	}
	if len(d.Steps) > 0 {
		b.WriteString("\nNext steps:\n")
		for i, s := range d.Steps {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, esc(s))
		}
	}
	if len(r.Trace) > 0 {
		b.WriteString("\nTrace:\n")
		for _, e := range r.Trace {
			fmt.Fprintf(&b, "  %s %s %s\n", paint(ansiDim, fmt.Sprintf("%8.1fms", e.AtMS)), e.Direction, esc(e.Message))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
