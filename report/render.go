package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Options shape the page.
type Options struct {
	Title string // default "pgtriage watch report"
	// Source names the event log in the page.
	Source string
	// Skipped is how many lines of the log were not events, TooLong how many of them were too long to be events
	// (eventlog.Stats), said in the page.
	Skipped, TooLong int
}

// Write ends the fold and renders it as one HTML page; nothing is to be added after it.
func (f *Folder) Write(w io.Writer, opts Options) error {
	if opts.Title == "" {
		opts.Title = "pgtriage watch report"
	}
	f.finish()
	return page.Execute(w, newView(f, opts))
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
	Skipped, TooLong                int
	Width, Height, LatHeight        int
	PlotX0, PlotX1, PlotW           int
	Ticks                           []tick
	Rows                            []row
	LatRows                         []latRow
	Legend                          []legendItem
	Summary                         []summaryRow
	Outages                         []outageRow
	// OutageCount and Escalations count every outage of the log; Unlisted are the earlier ones the table leaves out.
	OutageCount, Escalations, Unlisted int
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

func newView(f *Folder, opts Options) *view {
	v := &view{Title: opts.Title, Source: opts.Source, Skipped: opts.Skipped, TooLong: opts.TooLong, Width: chartW, PlotX0: labelW, PlotX1: plotX1, PlotW: plotX1 - labelW,
		Generated: time.Now().UTC().Format(time.RFC3339)}
	if f.from.IsZero() {
		return v
	}
	v.Range = f.from.UTC().Format("2006-01-02 15:04:05") + " to " + f.to.UTC().Format("2006-01-02 15:04:05") + " UTC (" + human(f.to.Sub(f.from)) + ")"
	total := f.to.Sub(f.from)
	if total <= 0 {
		total = time.Second
	}
	x := func(t time.Time) float64 {
		return labelW + float64(t.Sub(f.from))/float64(total)*float64(plotX1-labelW)
	}
	v.Ticks = ticks(f.from, f.to, x)
	seenCat := map[string]bool{}
	for i, td := range f.targets {
		y := float64(axisH + i*rowH)
		r := row{Y: y, BarY: y + (rowH-barH)/2, TextY: y + rowH/2 + 4, Name: td.name}
		for _, s := range td.observed {
			r.Observed = append(r.Observed, rect{X: x(s.from), W: max(x(s.to)-x(s.from), minWidth), Color: "#86d39a",
				Tip: "observed " + clock(s.from) + " to " + clock(s.to)})
		}
		for _, b := range td.bars {
			seenCat[b.category] = true
			tip := fmt.Sprintf("%s: down %s to %s (%s), %s, verdict %s", td.name, clock(b.from), clock(b.to), human(b.duration()), b.cause, b.verdict)
			if b.n > 1 {
				tip = fmt.Sprintf("%s: %d outages %s to %s, the longest %s (%s), %s", td.name, b.n, clock(b.from), clock(b.to), human(b.longest), b.cause, b.verdict)
			}
			r.Outages = append(r.Outages, rect{X: x(b.from), W: max(x(b.to)-x(b.from), minWidth), Color: colorOf(b.category),
				Tip: tip, Class: "outage " + b.verdict, Cause: string(b.cause)})
		}
		for _, mk := range td.markers {
			r.Markers = append(r.Markers, rect{X: x(mk.at) - 1, W: 2, Color: markerColor[mk.kind], Tip: clock(mk.at) + " " + mk.label, Kind: mk.kind})
		}
		v.Rows = append(v.Rows, r)

		avail, seen := td.availability()
		v.Summary = append(v.Summary, summaryRow{Name: td.name, Observed: human(seen), Availability: fmt.Sprintf("%.3f%%", avail*100),
			Outages: td.outages, Escalate: td.escalate, Restarts: td.restarts, Down: human(td.down)})
		v.LatRows = append(v.LatRows, latencyRow(i, td, x))
		v.OutageCount += td.outages
		v.Escalations += td.escalate
	}
	v.Height = axisH + len(f.targets)*rowH + 6
	v.LatHeight = axisH + len(f.targets)*latRowH + 6
	for _, cat := range []string{"availability", "limits", "timeout", "tls", "login", "firewall", "dns", "configuration"} {
		if seenCat[cat] {
			v.Legend = append(v.Legend, legendItem{categoryColor[cat], cat})
			delete(seenCat, cat)
		}
	}
	if len(seenCat) > 0 {
		v.Legend = append(v.Legend, legendItem{unknownColor, "other"})
	}
	v.Unlisted = f.unlisted
	for _, o := range f.listed {
		or := outageRow{Target: o.target, Start: clock(o.Start), End: clock(o.End), Duration: human(o.End.Sub(o.Start)),
			Cause: string(o.Cause), Category: o.Category, Color: colorOf(o.Category), Verdict: o.Verdict, Reasons: o.Reasons,
			Steps: o.Steps, Open: o.open}
		var codes []string
		for _, c := range o.Codes {
			codes = append(codes, fmt.Sprintf("%s ×%d", c.Code, c.Count))
		}
		or.Codes = strings.Join(codes, ", ")
		v.Outages = append(v.Outages, or)
	}
	return v
}

// latencyRow draws the held session's latency summaries: the median as a line, the 90th percentile dashed.
func latencyRow(i int, td *targetData, x func(time.Time) float64) latRow {
	y := float64(axisH + i*latRowH)
	lr := latRow{Y: y, TextY: y + 18, BaseY: y + latRowH - 6, Name: td.name}
	s := td.latency
	if len(s) == 0 {
		lr.Max = "no samples"
		return lr
	}
	// The scale follows the medians, so that one slow period does not flatten the rest; a 90th percentile above it
	// is drawn at the top, and the label says so (the points' tooltips keep the true values).
	top, p90top := 0.0, 0.0
	for _, p := range s {
		top, p90top = max(top, p.p50), max(p90top, p.p90)
	}
	top = niceCeil(min(max(top*2, 0.5), max(p90top, 0.5)))
	lr.Max = fmt.Sprintf("0 to %g ms", top)
	if p90top > top {
		lr.Max += ", 90th percentile clipped"
	}
	yOf := func(v float64) float64 { return lr.BaseY - min(v, top)/top*(latRowH-14) }
	// A gap in the summaries (an outage, or watch not running) breaks the lines.
	var p50, p90 []string
	gaps := td.gaps
	for j, p := range s {
		broken := j == 0
		for len(gaps) > 0 && gaps[0].from.Before(p.at) {
			broken = broken || !gaps[0].from.Before(s[j-1].at)
			gaps = gaps[1:]
		}
		if broken {
			p50, p90 = append(p50, ""), append(p90, "")
		}
		p50[len(p50)-1] += fmt.Sprintf("%.1f,%.1f ", x(p.at), yOf(p.p50))
		p90[len(p90)-1] += fmt.Sprintf("%.1f,%.1f ", x(p.at), yOf(p.p90))
		lr.Points = append(lr.Points, point{X: x(p.at), Y: yOf(p.p50), Tip: fmt.Sprintf("%s p50 %.2f ms, p90 %.2f ms", clock(p.at), p.p50, p.p90)})
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

// maxTicks bounds the labelled ticks of the time axis, for a log of a minute or of years.
const maxTicks = 8

// tickSteps are the round steps of the time axis up to a week; longer spans go by months and years.
var tickSteps = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
	2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour}

// tickMonths are the steps in months beyond a week; longer spans go by years.
var tickMonths = []int{1, 3, 6}

// ticks puts at most maxTicks labelled ticks on the time axis, at round times: whole seconds to weeks, the first of
// a month, of a year.
func ticks(from, to time.Time, x func(time.Time) float64) []tick {
	from, to = from.UTC(), to.UTC()
	total := to.Sub(from) // saturates beyond 292 years: the calendar decides there
	var out []tick
	add := func(t time.Time, layout string) {
		if !t.Before(from) && x(t) <= plotX1-25 { // a label at the right edge would be cut
			out = append(out, tick{X: x(t), Label: t.Format(layout)})
		}
	}
	for _, step := range tickSteps {
		if total/step < maxTicks {
			layout := "15:04:05"
			if total > 24*time.Hour {
				layout = "Jan 2 15:04"
			}
			for t := from.Truncate(step); !t.After(to); t = t.Add(step) {
				add(t, layout)
			}
			return out
		}
	}
	// A month is at least 28 days: n months fit fewer than maxTicks times in total when maxTicks*n*28 days do.
	months, layout := 0, "Jan 2006"
	for _, m := range tickMonths {
		if total < time.Duration(maxTicks*m*28)*24*time.Hour {
			months = m
			break
		}
	}
	if months == 0 {
		years := int(niceCeil(float64(to.Year()-from.Year()) / (maxTicks - 1)))
		months, layout = 12*max(years, 1), "2006"
	}
	// From January of a year that is a multiple of the step, so that the labels are round: 2020, 2025, 2030.
	first := time.Date(from.Year()-from.Year()%max(months/12, 1), time.January, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; ; i++ {
		t := first.AddDate(0, i*months, 0)
		if t.After(to) {
			break
		}
		add(t, layout)
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
