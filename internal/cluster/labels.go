package cluster

import (
	"sort"
	"strings"
)

// FormatLabels renders a label map or a selector for people, as kubectl
// does: "app=web,tier=db" in key order, "<none>" when empty. It is the one
// rendering every command uses, so a selector reads the same everywhere.
func FormatLabels(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + m[k])
	}
	return b.String()
}
