package store

import (
	"testing"
	"time"
)

func TestParseMessageID(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"42", 42, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"0", 0, false},
		{"007", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1e3", 0, false},
		{"abc", 0, false},
		{"١", 0, false}, // an Arabic-Indic digit
	}
	for _, tt := range tests {
		got, ok := parseMessageID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseMessageID(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && formatMessageID(got) != tt.in {
			t.Errorf("formatMessageID(%d) = %q, want %q", got, formatMessageID(got), tt.in)
		}
	}
}

func TestBounds(t *testing.T) {
	if id, ok := afterBound(""); id != 0 || !ok {
		t.Errorf(`afterBound("") = %d, %v`, id, ok)
	}
	if id, ok := beforeBound(""); id != maxMessageID || !ok {
		t.Errorf(`beforeBound("") = %d, %v`, id, ok)
	}
	if id, ok := afterBound("12"); id != 12 || !ok {
		t.Errorf(`afterBound("12") = %d, %v`, id, ok)
	}
	if _, ok := beforeBound("x"); ok {
		t.Error(`beforeBound("x") ok`)
	}
}

func TestNewUserID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, err := newUserID()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 17 || id[0] != 'u' || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

func TestConvKey(t *testing.T) {
	if convKey("ub", "ua") != convKey("ua", "ub") || convKey("ua", "ub") != "ua ub" {
		t.Fatalf("convKey not symmetric: %q %q", convKey("ub", "ua"), convKey("ua", "ub"))
	}
	if convKey("ua", "ua") != "ua ua" {
		t.Fatal("convKey of a self-conversation")
	}
}

func TestNowIsUTCMicroseconds(t *testing.T) {
	n := now()
	if n.Location() != time.UTC || n.Nanosecond()%1000 != 0 {
		t.Fatalf("now() = %v", n)
	}
	if !time.UnixMicro(n.UnixMicro()).UTC().Equal(n) || n != time.UnixMicro(n.UnixMicro()).UTC() {
		t.Fatal("now() does not survive a round trip through microseconds")
	}
}

func TestCheckLimit(t *testing.T) {
	if checkLimit(1) != nil || checkLimit(0) == nil || checkLimit(-3) == nil {
		t.Fatal("checkLimit")
	}
}
