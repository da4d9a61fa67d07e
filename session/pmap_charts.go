package session

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/rain-wasm/rain/display"
)

// chartAttr gives a map result's chart methods: r.timeline(title=None, by="map"), coloured by
// the map's function or, with by="tier", by the engine that ran each task. Other names are
// not attributes (nil, nil).
func (m *MapResult) chartAttr(name string) (starlark.Value, error) {
	if name != "timeline" {
		return nil, nil
	}
	return starlark.NewBuiltin("timeline", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var title starlark.Value = starlark.None
		by := "map"
		if err := unpackArgs(b.Name(), args, kwargs, "title?", &title, "by?", &by); err != nil {
			return nil, err
		}
		if by != "map" && by != "tier" {
			return nil, usageError("timeline: by must be \"map\" or \"tier\", not %q", by)
		}
		t := fmt.Sprintf("pmap(%s): %d task%s", m.name, len(m.r.Tasks), plural(len(m.r.Tasks)))
		if s, ok := title.(starlark.String); ok {
			t = string(s)
		} else if title != starlark.None {
			return nil, usageError("timeline: title must be a string, not %s", title.Type())
		}
		c, err := display.Timeline(t, m.spans(by == "tier"))
		if err != nil {
			return nil, usageError("timeline: pmap(%s) has no task with a node and times to draw", m.name)
		}
		return chartValue{c}, nil
	}).BindReceiver(m), nil
}

// spans are the map's tasks for a timeline, in seconds since the map began, coloured by the
// map's function or by tier.
func (m *MapResult) spans(byTier bool) []display.Span {
	spans := make([]display.Span, 0, len(m.r.Tasks))
	for _, t := range m.r.Tasks {
		if t.Started.IsZero() || t.Finished.IsZero() {
			continue
		}
		group := m.name
		if byTier {
			group = t.Tier
			if group == "" {
				group = "unknown tier"
			}
		}
		spans = append(spans, display.Span{
			Lane: t.Node, Group: group,
			Start: t.Started.Sub(m.r.Began).Seconds(), End: t.Finished.Sub(m.r.Began).Seconds(),
			Retries: t.Retries, Failed: t.Err != nil,
		})
	}
	return spans
}
