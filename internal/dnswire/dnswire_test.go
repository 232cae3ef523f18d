package dnswire

import "testing"

func TestSkipName(t *testing.T) {
	for _, tc := range []struct {
		rule string
		msg  []byte
		off  int
		end  int
		ok   bool
	}{
		{"labels then the root", []byte{3, 'w', 'w', 'w', 0, 9}, 0, 5, true},
		{"the root alone", []byte{0}, 0, 1, true},
		{"a pointer ends the name", []byte{1, 'a', 0xC0, 0x0C, 9}, 0, 4, true},
		{"a pointer cut short", []byte{1, 'a', 0xC0}, 0, 0, false},
		{"a label past the end", []byte{5, 'a', 'b'}, 0, 0, false},
		{"no root", []byte{1, 'a'}, 0, 0, false},
		{"an extended label type", []byte{0x41, 'a'}, 0, 0, false},
		{"from an offset", []byte{9, 9, 1, 'x', 0}, 2, 5, true},
	} {
		end, ok := SkipName(tc.msg, tc.off)
		if end != tc.end || ok != tc.ok {
			t.Errorf("%s: (%d, %v), want (%d, %v)", tc.rule, end, ok, tc.end, tc.ok)
		}
	}
}
