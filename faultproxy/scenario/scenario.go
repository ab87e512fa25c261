package scenario

import (
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pgtriage/pgtriage/faultproxy"
)

// Scenario is a timeline of faults: steps that put faults in force on a proxy and take them away, each at an
// offset from the start. Files are YAML (JSON is YAML too); see Parse for the format.
type Scenario struct {
	Name        string
	Description string
	Steps       []Step
}

// Step is one point of a scenario's timeline.
type Step struct {
	At     time.Duration      // offset from the start of the scenario
	For    time.Duration      // when > 0, the faults this step adds are removed this long after At
	Add    []faultproxy.Fault // faults put in force (a terminate acts once, at once, and is not kept)
	Remove []string           // ids of faults added by earlier steps
	Note   string             // what the step stands for, shown in the timeline
	line   int                // line in the file, for errors; 0 when built in Go
}

// change is one moment of the compiled timeline: a step, or the end of a step's `for`.
type change struct {
	at     time.Duration
	add    []faultproxy.Fault
	remove []string
	note   string
}

// maxOffset bounds offsets and `for` durations: a rehearsal lasts minutes, and sums of offsets cannot overflow.
const maxOffset = 24 * time.Hour

// MaxFileSize bounds a scenario file: a hand-written timeline is a few kilobytes, and every value of the file is a
// parsed node of some hundred bytes (256 KiB of short values allocate under 64 MB in all). Readers read one byte more, so that
// Parse can say the file is too big.
const MaxFileSize = 256 << 10

// Parse reads a scenario file; name is used in errors ("file.yaml:12: steps[1].add[0].kind: ...").
//
// The format, in YAML (JSON is accepted too, being YAML):
//
//	name: failover
//	description: what the scenario stands for
//	steps:
//	  - at: 0s              # offset from the start (a Go duration: 0s, 250ms, 1m30s)
//	    note: the primary is lost
//	    add:                # faults, in the shape of Fault's JSON (kind, share, cause, at, bytes, ...)
//	      - {kind: terminate}                   # one-shot: live sessions end with 57P01
//	      - {id: down, kind: refuse}            # kept until removed
//	  - at: 3s
//	    remove: [down]      # ids of faults added earlier
//	    add: [{kind: error, cause: server.starting_up}]
//	    for: 4s             # the faults of this step are removed at 3s+4s
//	  - at: 10s             # a step may only mark the end
//
// Without a name, the scenario is named after the file. Steps come in the order of their offsets (at most 24h). Every fault but a terminate must be taken away again, by `for` or by a
// later `remove`, so that a scenario always ends with the proxy as it found it. A fault without an id gets
// KIND-STEP (e.g. "refuse-2", counting steps from 1).
func Parse(name string, data []byte) (*Scenario, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes: a scenario file may have at most %d", name, len(data), MaxFileSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	p := &scenarioParser{file: name}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty file: a scenario needs at least name and steps", name)
	}
	// An alias is expanded each time a value is decoded, and yaml.v3 counts an alias of a scalar as one node: a
	// few kilobytes of aliases to a long scalar become gigabytes. A timeline needs none.
	if n := aliased(&doc); n != nil {
		return nil, fmt.Errorf("%s:%d: anchors and aliases (&name, *name) are not allowed in a scenario file: write each value out", name, n.Line)
	}
	s := p.scenario(doc.Content[0])
	if p.err != nil {
		return nil, p.err
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(path.Base(name), path.Ext(name))
	}
	if _, err := s.plan(name); err != nil {
		return nil, err
	}
	return s, nil
}

// Validate checks a scenario built in Go as Parse checks a file.
func (s *Scenario) Validate() error {
	_, err := s.plan(s.Name)
	return err
}

// Duration is how long the scenario runs at speed 1: until its last step or the last end of a `for`.
func (s *Scenario) Duration() time.Duration {
	var d time.Duration
	for _, st := range s.Steps {
		d = max(d, st.At+st.For)
	}
	return d
}

// scenarioParser walks the YAML nodes and keeps the first error, with its line and field path.
type scenarioParser struct {
	file string
	err  error
}

func (p *scenarioParser) fail(n *yaml.Node, field, format string, args ...any) {
	if p.err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	p.err = fmt.Errorf("%s:%d: %s", p.file, n.Line, msg)
}

// fields checks that n is a mapping with only known keys and returns the value of each key present.
func (p *scenarioParser) fields(n *yaml.Node, field string, known ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.fail(n, field, "want a mapping (key: value lines), got %s", nodeKind(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			p.fail(k, field, "unknown field %q (known: %s)", k.Value, strings.Join(known, ", "))
			return nil
		}
		if _, dup := out[k.Value]; dup {
			p.fail(k, field, "%q given twice", k.Value)
			return nil
		}
		out[k.Value] = v
	}
	return out
}

func (p *scenarioParser) scenario(n *yaml.Node) *Scenario {
	s := &Scenario{}
	f := p.fields(n, "", "name", "description", "steps")
	if f == nil {
		return s
	}
	s.Name = p.text(f["name"], "name")
	s.Description = p.text(f["description"], "description")
	steps := f["steps"]
	if steps == nil {
		p.fail(n, "", "no steps: a scenario needs a list of steps (at:, add:, remove:, for:)")
		return s
	}
	items := p.list(steps, "steps", "a list of steps (lines starting with -)")
	if p.err == nil && len(items) == 0 {
		p.fail(steps, "steps", "no steps: a scenario needs a list of steps (at:, add:, remove:, for:)")
	}
	for i, sn := range items {
		s.Steps = append(s.Steps, p.step(sn, fmt.Sprintf("steps[%d]", i)))
	}
	return s
}

func (p *scenarioParser) step(n *yaml.Node, field string) Step {
	st := Step{line: n.Line}
	f := p.fields(n, field, "at", "for", "add", "remove", "note")
	if f == nil {
		return st
	}
	if f["at"] == nil {
		p.fail(n, field, "no at: every step needs its offset from the start, such as at: 5s")
	} else {
		st.At = p.duration(f["at"], field+".at")
	}
	if f["for"] != nil {
		st.For = p.duration(f["for"], field+".for")
		if p.err == nil && st.For <= 0 {
			p.fail(f["for"], field+".for", "must be more than 0s")
		}
	}
	st.Note = p.text(f["note"], field+".note")
	for i, fn := range p.list(f["add"], field+".add", "a list of faults") {
		st.Add = append(st.Add, p.fault(fn, fmt.Sprintf("%s.add[%d]", field, i)))
	}
	for i, rn := range p.list(f["remove"], field+".remove", "a list of fault ids, such as [down]") {
		st.Remove = append(st.Remove, p.text(rn, fmt.Sprintf("%s.remove[%d]", field, i)))
	}
	return st
}

// list returns the items of a YAML list (none when n is absent), or fails saying what it wants.
func (p *scenarioParser) list(n *yaml.Node, field, want string) []*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "want %s, got %s", want, nodeKind(n))
		return nil
	}
	return n.Content
}

// fault decodes one fault key by key through Fault's JSON form, so that the file takes exactly the fields of the
// control API and an error names the line of the key at fault.
func (p *scenarioParser) fault(n *yaml.Node, field string) faultproxy.Fault {
	var f faultproxy.Fault
	if n.Kind != yaml.MappingNode {
		p.fail(n, field, "want a fault such as {kind: refuse}, got %s", nodeKind(n))
		return f
	}
	for i := 0; i+1 < len(n.Content) && p.err == nil; i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var value any
		if err := v.Decode(&value); err != nil {
			p.fail(v, field+"."+k.Value, "%v", err)
			return f
		}
		js, err := json.Marshal(map[string]any{k.Value: value})
		if err != nil {
			p.fail(v, field+"."+k.Value, "want a plain value, got %s", nodeKind(v))
			return f
		}
		if known := faultFields(); !slices.Contains(known, k.Value) {
			p.fail(k, field, "unknown fault field %q (known: %s)", k.Value, strings.Join(known, ", "))
			return f
		}
		if err := json.Unmarshal(js, &f); err != nil {
			var typeErr *json.UnmarshalTypeError
			switch {
			case errors.As(err, &typeErr):
				p.fail(v, field+"."+k.Value, "%q is not %s", v.Value, typeName(typeErr.Type.Kind().String()))
			default:
				p.fail(v, field+"."+k.Value, "%v", err)
			}
		}
	}
	if p.err == nil {
		if err := f.Validate(); err != nil {
			p.fail(n, field, "%v", err)
		}
	}
	return f
}

func (p *scenarioParser) text(n *yaml.Node, field string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.fail(n, field, "want text, got %s", nodeKind(n))
		return ""
	}
	return n.Value
}

func (p *scenarioParser) duration(n *yaml.Node, field string) time.Duration {
	s := p.text(n, field)
	if p.err != nil {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail(n, field, "%q is not a duration: write it with its unit, such as 5s, 250ms or 1m30s", s)
		return 0
	}
	switch {
	case d < 0:
		p.fail(n, field, "%s: must not be negative", s)
	case d > maxOffset:
		p.fail(n, field, "%s: a scenario lasts at most %s", s, maxOffset)
	}
	return d
}

// aliased returns the first node that is an alias or carries an anchor, walking the tree as parsed: aliases are
// not followed, so the walk is as long as the file.
func aliased(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return n
	}
	for _, c := range n.Content {
		if a := aliased(c); a != nil {
			return a
		}
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Value == "" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

func typeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case strings.HasPrefix(kind, "int"):
		return "a whole number"
	case kind == "string":
		return "text"
	}
	return "a " + kind
}

// faultFields are the keys a fault takes: the JSON names of Fault's fields.
func faultFields() []string {
	var out []string
	t := reflect.TypeFor[faultproxy.Fault]()
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// plan checks the timeline and compiles it into changes in time order: the end of a `for` comes before a step at
// the same offset, so that a step can follow another without a gap. Faults without an id get one here.
func (s *Scenario) plan(file string) ([]change, error) {
	where := func(i int) string {
		if s.Steps[i].line > 0 {
			return fmt.Sprintf("%s:%d: steps[%d]", file, s.Steps[i].line, i)
		}
		return fmt.Sprintf("%s: steps[%d]", file, i)
	}
	if len(s.Steps) == 0 {
		return nil, fmt.Errorf("%s: no steps", file)
	}
	type ending struct {
		at  time.Duration
		ids []string
	}
	var changes []change
	var endings []ending
	active := map[string]int{}           // id → step that added it
	flush := func(until time.Duration) { // applies the ends of `for` up to and including until
		slices.SortStableFunc(endings, func(a, b ending) int { return cmp.Compare(a.at, b.at) })
		for len(endings) > 0 && endings[0].at <= until {
			e := endings[0]
			endings = endings[1:]
			for _, id := range e.ids {
				delete(active, id)
			}
			changes = merge(changes, change{at: e.at, remove: e.ids, note: "end of for"})
		}
	}
	for i := range s.Steps {
		st := &s.Steps[i]
		if i > 0 && st.At < s.Steps[i-1].At {
			return nil, fmt.Errorf("%s: at %s comes before the previous step's %s: list steps in time order", where(i), st.At, s.Steps[i-1].At)
		}
		flush(st.At)
		for _, id := range st.Remove {
			by, ok := active[id]
			if !ok {
				return nil, fmt.Errorf("%s: remove %q: no fault with that id is in force at %s (ids in force: %s)", where(i), id, st.At, idList(active))
			}
			if s.Steps[by].For > 0 {
				return nil, fmt.Errorf("%s: remove %q: its step already ends it with for: %s", where(i), id, s.Steps[by].For)
			}
			delete(active, id)
		}
		var kept []string
		for j := range st.Add {
			f := &st.Add[j]
			if err := f.Validate(); err != nil {
				return nil, fmt.Errorf("%s.add[%d]: %w", where(i), j, err)
			}
			if f.ID == "" {
				f.ID = fmt.Sprintf("%s-%d", f.Kind, i+1)
				for n := 2; slices.ContainsFunc(st.Add[:j], func(g faultproxy.Fault) bool { return g.ID == f.ID }); n++ {
					f.ID = fmt.Sprintf("%s-%d.%d", f.Kind, i+1, n)
				}
			}
			if _, ok := active[f.ID]; ok || slices.Contains(kept, f.ID) {
				return nil, fmt.Errorf("%s.add[%d]: a fault with id %q is already in force", where(i), j, f.ID)
			}
			if f.Kind == faultproxy.KindTerminate {
				continue // one-shot: acts at once and is not kept
			}
			kept = append(kept, f.ID)
			active[f.ID] = i
		}
		if st.For > 0 {
			if len(kept) == 0 {
				return nil, fmt.Errorf("%s: for: %s, but the step adds no fault that lasts (a terminate acts once)", where(i), st.For)
			}
			endings = append(endings, ending{at: st.At + st.For, ids: kept})
		}
		changes = merge(changes, change{at: st.At, add: st.Add, remove: st.Remove, note: st.Note})
	}
	flush(math.MaxInt64)
	if len(active) > 0 {
		return nil, fmt.Errorf("%s: %s never removed: give its step a for: or remove it in a later step, so that the scenario ends with no fault in force", file, idList(active))
	}
	return changes, nil
}

// merge appends c, or folds it into the last change when both happen at the same offset and the last only removes,
// so that one step taking over from another is one moment (removals first, then additions) with no instant without
// faults in between.
func merge(changes []change, c change) []change {
	if n := len(changes); n > 0 && changes[n-1].at == c.at && len(changes[n-1].add) == 0 {
		last := &changes[n-1]
		last.remove = append(slices.Clone(last.remove), c.remove...)
		last.add = append(slices.Clone(last.add), c.add...)
		if c.note != "" {
			last.note = c.note
		}
		return changes
	}
	return append(changes, c)
}

func idList(active map[string]int) string {
	if len(active) == 0 {
		return "none"
	}
	var ids []string
	for id := range active {
		ids = append(ids, fmt.Sprintf("%q", id))
	}
	slices.Sort(ids)
	return strings.Join(ids, ", ")
}

//go:embed scenarios/*.yaml
var builtinFS embed.FS

// Builtins lists the names of the scenarios built into pgtriage.
func Builtins() []string {
	entries, _ := fs.ReadDir(builtinFS, "scenarios")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// BuiltinSource returns the file of a built-in scenario, to print or copy; ok is false for an unknown name.
func BuiltinSource(name string) (src []byte, ok bool) {
	if !slices.Contains(Builtins(), name) {
		return nil, false
	}
	src, err := builtinFS.ReadFile(path.Join("scenarios", name+".yaml"))
	return src, err == nil
}

// Builtin returns a built-in scenario by name.
func Builtin(name string) (*Scenario, error) {
	src, ok := BuiltinSource(name)
	if !ok {
		return nil, fmt.Errorf("no built-in scenario %q (built in: %s)", name, strings.Join(Builtins(), ", "))
	}
	return Parse(name+".yaml", src)
}
