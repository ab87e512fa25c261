package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/pgtriage/pgtriage/eventlog"
)

// Options shape the page.
type Options struct {
	Title string // default "pgtriage watch report"
	// Source names the event log in the page.
	Source string
	// Skipped is how many lines of the log were not events, said in the page.
	Skipped int
}

// Write renders the events as one HTML page.
func Write(w io.Writer, events []eventlog.Event, opts Options) error {
	if opts.Title == "" {
		opts.Title = "pgtriage watch report"
	}
	m := build(events)
	return page.Execute(w, newView(m, opts))
}

// Geometry of the SVG charts, in CSS pixels.
const (
	chartW   = 1240
	labelW   = 290
	plotX1   = chartW - 20
	rowH     = 28
	barH     = 18
	axisH    = 26
	latRowH  = 84
	minWidth = 2 // an outage shorter than a pixel is still seen
)

// categoryColor colours the outages by the catalog category of their cause.
var categoryColor = map[string]string{
	"availability":  "#d64545",
	"limits":        "#e8871e",
	"timeout":       "#8e5ad6",
	"tls":           "#d6459b",
	"login":         "#8a5a2b",
	"firewall":      "#1e7fd6",
	"dns":           "#1aa3a3",
	"configuration": "#6b7280",
}

const unknownColor = "#111827"

func colorOf(category string) string {
	if c, ok := categoryColor[category]; ok {
		return c
	}
	return unknownColor
}

var markerColor = map[string]string{"restart": "#111827", "role": "#7c3aed", "addresses": "#0369a1", "cert": "#be185d"}

type view struct {
	Title, Source, Range, Generated string
	Skipped                         int
	Width, Height, LatHeight        int
	PlotX0, PlotX1, PlotW           int
	Ticks                           []tick
	Rows                            []row
	LatRows                         []latRow
	Legend                          []legendItem
	Summary                         []summaryRow
	Outages                         []outageRow
	Escalations                     int
}

type tick struct {
	X     float64
	Label string
}

type rect struct {
	X, W        float64
	Color, Tip  string
	Class       string
	Cause, Kind string
}

type row struct {
	Y, BarY, TextY float64
	Name           string
	Observed       []rect
	Outages        []rect
	Markers        []rect
}

type latRow struct {
	Y, TextY, BaseY float64
	Name, Max       string
	P50, P90        []string // SVG polyline points, one for each stretch without a gap
	Points          []point
}

type point struct {
	X, Y float64
	Tip  string
}

type legendItem struct{ Color, Label string }

type summaryRow struct {
	Name, Observed, Availability, Down string
	Outages, Escalate, Restarts        int
}

type outageRow struct {
	Target, Start, End, Duration, Cause, Category, Color, Verdict string
	Codes                                                         string
	Reasons, Steps                                                []string
	Open                                                          bool
}

func newView(m *model, opts Options) *view {
	v := &view{Title: opts.Title, Source: opts.Source, Skipped: opts.Skipped, Width: chartW, PlotX0: labelW, PlotX1: plotX1, PlotW: plotX1 - labelW,
		Generated: time.Now().UTC().Format(time.RFC3339)}
	if m.from.IsZero() {
		return v
	}
	v.Range = m.from.UTC().Format("2006-01-02 15:04:05") + " to " + m.to.UTC().Format("2006-01-02 15:04:05") + " UTC (" + human(m.to.Sub(m.from)) + ")"
	total := m.to.Sub(m.from)
	if total <= 0 {
		total = time.Second
	}
	x := func(t time.Time) float64 {
		return labelW + float64(t.Sub(m.from))/float64(total)*float64(plotX1-labelW)
	}
	v.Ticks = ticks(m.from, m.to, x)
	seenCat := map[string]bool{}
	for i, td := range m.targets {
		y := float64(axisH + i*rowH)
		r := row{Y: y, BarY: y + (rowH-barH)/2, TextY: y + rowH/2 + 4, Name: td.name}
		for _, s := range td.observed {
			r.Observed = append(r.Observed, rect{X: x(s.from), W: max(x(s.to)-x(s.from), minWidth), Color: "#86d39a",
				Tip: "observed " + clock(s.from) + " to " + clock(s.to)})
		}
		for _, o := range td.outages {
			seenCat[o.Category] = true
			tip := fmt.Sprintf("%s: down %s to %s (%s), %s, verdict %s", td.name, clock(o.Start), clock(o.End), human(o.End.Sub(o.Start)), o.Cause, o.Verdict)
			r.Outages = append(r.Outages, rect{X: x(o.Start), W: max(x(o.End)-x(o.Start), minWidth), Color: colorOf(o.Category),
				Tip: tip, Class: "outage " + o.Verdict, Cause: string(o.Cause)})
		}
		for _, mk := range td.markers {
			r.Markers = append(r.Markers, rect{X: x(mk.at) - 1, W: 2, Color: markerColor[mk.kind], Tip: clock(mk.at) + " " + mk.label, Kind: mk.kind})
		}
		v.Rows = append(v.Rows, r)

		avail, seen := td.availability()
		sr := summaryRow{Name: td.name, Observed: human(seen), Availability: fmt.Sprintf("%.3f%%", avail*100), Outages: len(td.outages)}
		var down time.Duration
		for _, o := range td.outages {
			down += o.End.Sub(o.Start)
			if o.Verdict == eventlog.VerdictEscalate {
				sr.Escalate++
			}
		}
		sr.Down = human(down)
		for _, mk := range td.markers {
			if mk.kind == "restart" {
				sr.Restarts++
			}
		}
		v.Summary = append(v.Summary, sr)
		v.LatRows = append(v.LatRows, latencyRow(i, td, x))
	}
	v.Height = axisH + len(m.targets)*rowH + 6
	v.LatHeight = axisH + len(m.targets)*latRowH + 6
	for _, cat := range []string{"availability", "limits", "timeout", "tls", "login", "firewall", "dns", "configuration"} {
		if seenCat[cat] {
			v.Legend = append(v.Legend, legendItem{categoryColor[cat], cat})
			delete(seenCat, cat)
		}
	}
	if len(seenCat) > 0 {
		v.Legend = append(v.Legend, legendItem{unknownColor, "other"})
	}
	for _, o := range m.outages {
		or := outageRow{Target: o.target, Start: clock(o.Start), End: clock(o.End), Duration: human(o.End.Sub(o.Start)),
			Cause: string(o.Cause), Category: o.Category, Color: colorOf(o.Category), Verdict: o.Verdict, Reasons: o.Reasons,
			Steps: o.Steps, Open: o.open}
		var codes []string
		for _, c := range o.Codes {
			codes = append(codes, fmt.Sprintf("%s ×%d", c.Code, c.Count))
		}
		or.Codes = strings.Join(codes, ", ")
		if o.Verdict == eventlog.VerdictEscalate {
			v.Escalations++
		}
		v.Outages = append(v.Outages, or)
	}
	return v
}

// latencyRow draws the held session's latency summaries: the median as a line, the 90th percentile dashed.
func latencyRow(i int, td *targetData, x func(time.Time) float64) latRow {
	y := float64(axisH + i*latRowH)
	lr := latRow{Y: y, TextY: y + 18, BaseY: y + latRowH - 6, Name: td.name}
	s := td.latency
	if len(s.at) == 0 {
		lr.Max = "no samples"
		return lr
	}
	// The scale follows the medians, so that one slow period does not flatten the rest; a 90th percentile above it
	// is drawn at the top, and the label says so (the points' tooltips keep the true values).
	top, p90top := 0.0, 0.0
	for j := range s.p50 {
		top, p90top = max(top, s.p50[j]), max(p90top, s.p90[j])
	}
	top = niceCeil(min(max(top*2, 0.5), max(p90top, 0.5)))
	lr.Max = fmt.Sprintf("0 to %g ms", top)
	if p90top > top {
		lr.Max += ", 90th percentile clipped"
	}
	yOf := func(v float64) float64 { return lr.BaseY - min(v, top)/top*(latRowH-14) }
	// A period with no sample (an outage, or watch not running) breaks the lines.
	var p50, p90 []string
	for j, at := range s.at {
		if j == 0 || at.Sub(s.at[j-1]) > s.period[j]*3/2 {
			p50, p90 = append(p50, ""), append(p90, "")
		}
		p50[len(p50)-1] += fmt.Sprintf("%.1f,%.1f ", x(at), yOf(s.p50[j]))
		p90[len(p90)-1] += fmt.Sprintf("%.1f,%.1f ", x(at), yOf(s.p90[j]))
		lr.Points = append(lr.Points, point{X: x(at), Y: yOf(s.p50[j]), Tip: fmt.Sprintf("%s p50 %.2f ms, p90 %.2f ms", clock(at), s.p50[j], s.p90[j])})
	}
	lr.P50, lr.P90 = p50, p90
	return lr
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := 0.001
	for p*10 <= v {
		p *= 10
	}
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= v {
			return f * p
		}
	}
	return 10 * p
}

// ticks puts about eight labelled ticks on the time axis, at round times.
func ticks(from, to time.Time, x func(time.Time) float64) []tick {
	steps := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
		2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour}
	total := to.Sub(from)
	step := steps[len(steps)-1]
	for _, s := range steps {
		if total/s <= 8 {
			step = s
			break
		}
	}
	layout := "15:04:05"
	if total > 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	var out []tick
	for t := from.UTC().Truncate(step); !t.After(to); t = t.Add(step) {
		if t.Before(from) || x(t) > plotX1-25 { // a label at the right edge would be cut
			continue
		}
		out = append(out, tick{X: x(t), Label: t.Format(layout)})
	}
	return out
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") }

// human writes a duration for people: 850ms, 12.3s, 4m05s, 3h12m, 2d4h.
func human(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Parse(pageHTML))
