package cluster

import "testing"

func TestFormatLabelsAsKubectl(t *testing.T) {
	for _, tt := range []struct {
		in   map[string]string
		want string
	}{
		{nil, "<none>"},
		{map[string]string{}, "<none>"},
		{map[string]string{"tier": "db", "app": "web"}, "app=web,tier=db"},
	} {
		if got := FormatLabels(tt.in); got != tt.want {
			t.Errorf("FormatLabels(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
