package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pgtriage/pgtriage/eventlog"
	"github.com/pgtriage/pgtriage/internal/termtext"
	"github.com/pgtriage/pgtriage/watch"
)

// View shows the targets to a person. On a terminal it redraws a table in place (a line per target: state, since
// when, the held session's latency, the last cause) with the latest events under it; elsewhere (a pipe, a file, a
// journal) it writes one plain line for each event a person acts on and never moves the cursor.
type View struct {
	out   io.Writer
	tty   bool
	color bool
	// Size returns the terminal's columns and rows; nil means 120 by 40.
	Size func() (cols, rows int)

	mu     sync.Mutex
	recent []string // the latest event lines, for the table
	drawn  int      // lines drawn last time, to move back over
}

// NewView writes to out; tty says whether out is a terminal, color whether colours may be used (never with NO_COLOR).
func NewView(out io.Writer, tty, color bool) *View {
	return &View{out: out, tty: tty, color: color && tty}
}

// recentLines is how many event lines the table shows under it.
const recentLines = 6

// Record writes the events a person acts on: outages starting, escalating and ending, restarts, role, address and
// certificate changes.
func (v *View) Record(ev eventlog.Event) error {
	line := v.eventLine(ev)
	if line == "" {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty {
		if v.recent = append(v.recent, line); len(v.recent) > recentLines {
			v.recent = v.recent[1:]
		}
		return nil
	}
	_, err := io.WriteString(v.out, line+"\n")
	return err
}

func (v *View) eventLine(ev eventlog.Event) string {
	at := ev.Time.Local().Format("15:04:05")
	// Names, evidence and certificate subjects come from the settings and the servers: escaped for the terminal.
	esc := termtext.Escape
	target := esc(ev.Target)
	switch ev.Type {
	case eventlog.EventOutageStart:
		return fmt.Sprintf("%s %s %s %s (%s): %s", at, v.paint("DOWN", red), target, ev.Code, ev.Probe, esc(ev.Evidence))
	case eventlog.EventOutageEscalate:
		return fmt.Sprintf("%s %s %s %s: %s", at, v.paint("ESCALATE", red), target, ev.Code, esc(ev.Note))
	case eventlog.EventOutageEnd:
		o := ev.Outage
		verdict := o.Verdict
		if o.Verdict == eventlog.VerdictEscalate {
			verdict = v.paint("escalate", red) + " (" + strings.Join(o.Reasons, "; ") + ")"
		}
		s := fmt.Sprintf("%s %s %s after %s: %s, %s", at, v.paint("UP", green), target,
			eventlog.Round(time.Duration(o.DurationSeconds*float64(time.Second))), o.Cause, verdict)
		if o.Verdict == eventlog.VerdictEscalate && !v.tty {
			for i, step := range o.Steps {
				s += fmt.Sprintf("\n    %d. %s", i+1, esc(step))
			}
		}
		return s
	case eventlog.EventRestart:
		return fmt.Sprintf("%s %s %s the server restarted (started %s, before %s)", at, v.paint("RESTART", yellow), target, epoch(ev.New), epoch(ev.Old))
	case eventlog.EventRole:
		return fmt.Sprintf("%s %s %s the server became a %s (was a %s)", at, v.paint("ROLE", yellow), target, esc(ev.New), esc(ev.Old))
	case eventlog.EventAddresses:
		return fmt.Sprintf("%s %s %s %s (was %s)", at, v.paint("ADDRESSES", yellow), target, esc(ev.New), esc(ev.Old))
	case eventlog.EventCert:
		return fmt.Sprintf("%s %s %s new server certificate %s, valid until %s", at, v.paint("CERT", yellow), target, esc(ev.Cert.Subject), ev.Cert.NotAfter.Format(time.DateOnly))
	case eventlog.EventCertExpiring:
		return fmt.Sprintf("%s %s %s %s (%s)", at, v.paint("CERT", yellow), target, esc(ev.Note), ev.Cert.NotAfter.Format(time.RFC3339))
	case eventlog.EventServer:
		if ev.Server == nil {
			return ""
		}
		return fmt.Sprintf("%s %s %s a %s server, addresses %s", at, v.paint("CONNECTED", green), target, esc(ev.Server.Role), esc(ev.Server.Addresses))
	case eventlog.EventWatchStop:
		return fmt.Sprintf("%s STOP watch stopped", at)
	case eventlog.EventIdleCut:
		return fmt.Sprintf("%s %s %s %s (%s): %s", at, v.paint("IDLE CUT", yellow), target, ev.Code, esc(ev.Note), esc(ev.Evidence))
	case eventlog.EventTokenExpiring:
		return fmt.Sprintf("%s %s %s %s: %s", at, v.paint("TOKEN", yellow), target, ev.Code, esc(ev.Note))
	case eventlog.EventDropped:
		return fmt.Sprintf("%s %s %s", at, v.paint("DROPPED", yellow), esc(ev.Note))
	}
	return ""
}

// epoch shows a pg_postmaster_start_time as seconds since the epoch in local time.
func epoch(s string) string {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		return s
	}
	return time.Unix(0, int64(f*1e9)).Local().Format("2006-01-02 15:04:05.000")
}

// Run redraws the table every second on a terminal, until ctx is done; elsewhere it returns at once.
func (v *View) Run(ctx context.Context, status func() []watch.Status) {
	if !v.tty {
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		v.Draw(status(), time.Now())
		select {
		case <-ctx.Done():
			v.Draw(status(), time.Now())
			return
		case <-tick.C:
		}
	}
}

// Draw writes the table over the previous one.
func (v *View) Draw(st []watch.Status, now time.Time) {
	cols, rows := 120, 40
	if v.Size != nil {
		if c, r := v.Size(); c > 0 && r > 0 {
			cols, rows = c, r
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	lines := v.table(st, now, cols, rows)
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dF", v.drawn) // to the start of the first line drawn
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\x1b[K\n") // clear what a longer line left
	}
	b.WriteString("\x1b[J") // and what a longer table left
	v.drawn = len(lines)
	_, _ = io.WriteString(v.out, b.String())
}

// table renders the lines of one frame: a summary, a line per target (down first) as many as fit, the latest events.
func (v *View) table(st []watch.Status, now time.Time, cols, rows int) []string {
	up, down := 0, 0
	nameWidth := 6
	for _, s := range st {
		switch s.State {
		case watch.StateUp:
			up++
		case watch.StateDown:
			down++
		}
		nameWidth = max(nameWidth, min(utf8.RuneCountInString(s.Name), 40))
	}
	lines := []string{fmt.Sprintf("pgtriage watch  %s  %d targets: %d up, %d down", now.Local().Format("15:04:05"), len(st), up, down),
		fmt.Sprintf("%-*s  %-7s  %-9s  %9s  %s", nameWidth, "TARGET", "STATE", "SINCE", "LATENCY", "LAST CAUSE")}
	room := rows - len(lines) - len(v.recent) - 3
	for i, s := range st {
		if i >= room {
			lines = append(lines, fmt.Sprintf("... and %d more", len(st)-i))
			break
		}
		since, latency := "", ""
		if !s.Since.IsZero() {
			since = short(now.Sub(s.Since))
		}
		if s.Latency > 0 {
			latency = fmt.Sprintf("%.1fms", float64(s.Latency)/float64(time.Millisecond))
		}
		cause := ""
		if s.Cause != "" {
			cause = string(s.Cause) + ": " + termtext.Escape(s.Evidence)
		}
		state := fmt.Sprintf("%-7s", s.State)
		switch s.State {
		case watch.StateDown:
			state = v.paint(state, red)
		case watch.StateUp:
			state = v.paint(state, green)
		}
		line := fmt.Sprintf("%-*s  %s  %-9s  %9s  ", nameWidth, clip(termtext.Escape(s.Name), nameWidth), state, since, latency)
		lines = append(lines, line+clip(cause, max(cols-visible(line), 10)))
	}
	if len(v.recent) > 0 {
		lines = append(lines, "", "latest events:")
		for _, r := range v.recent {
			lines = append(lines, clip(r, cols+utf8.RuneCountInString(r)-visible(r))) // the colour codes take no room
		}
	}
	return lines
}

// short writes a duration for a narrow column: 4s, 12m3s, 5h2m, 3d4h.
func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// clip cuts s to n characters, the last an ellipsis when something was cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	return string([]rune(s)[:n-1]) + "…"
}

// visible is the width of a line without its colour codes.
func visible(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case r == '\x1b':
			esc = true
		case esc:
			esc = r != 'm'
		default:
			n++
		}
	}
	return n
}

const (
	red    = "31"
	green  = "32"
	yellow = "33"
)

func (v *View) paint(s, color string) string {
	if !v.color {
		return s
	}
	return "\x1b[" + color + "m" + s + "\x1b[0m"
}
