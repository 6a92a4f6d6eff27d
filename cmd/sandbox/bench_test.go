package main

import (
	"bytes"
	"strings"
	"testing"
)

// A negative size or duration is refused with its name, not run as the
// default; --pending -1 is a value of its own (no pending messages).
func TestBenchRefusesNegativeSizes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		why  string
	}{
		{[]string{"--pairs", "-3", "--short"}, "--pairs must be 0 (the default) or more, not -3"},
		{[]string{"--hostile-phase", "-2s"}, "--hostile-phase must be 0 (the default) or longer, not -2s"},
		{[]string{"--pending", "-1", "--workload", "nope"}, `unknown workload "nope"`},
	} {
		var out, errb bytes.Buffer
		if code := runBench(tc.args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2; stderr %q", tc.args, code, errb.String())
		}
		if !strings.Contains(errb.String(), tc.why) {
			t.Errorf("%q: stderr %q; want it to say %q", tc.args, errb.String(), tc.why)
		}
	}
}
