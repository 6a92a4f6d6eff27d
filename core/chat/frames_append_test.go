package chat

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
)

// TestAppendFrameAgreesWithMarshal holds the fast encoding to the bytes
// json.Marshal gives with encodeOpts, for plain strings and for every kind
// of string it must leave to the library.
func TestAppendFrameAgreesWithMarshal(t *testing.T) {
	n, zero, neg := 7, 0, -3
	strs := []string{"", "a", "42", "u-1", "hello there", "é😀日本", "tab\there", "quote\"", `back\slash`,
		"<b>", "a&b", "x>y", "line\u2028sep", "para\u2029", "nul\x00", "\x1f", "bad\xffutf8", "\xe2\x80",
		"/slash", "\x7f", strings.Repeat("z", 5000)}
	frames := []OutFrame{
		MessageFrame(Message{ID: "1", SenderID: "u1", RecipientID: "u2", Content: "hi", CreatedAt: time.Now()}),
		AckFrame(Message{ID: "1", ClientMessageID: "c-1", CreatedAt: time.Now()}),
		StateFrame("9"),
		ReplayDoneFrame(0), ReplayDoneFrame(12345),
		ErrorFrame(CodeBadFrame, "missing field type", "c1", ""),
		{Type: TypeReplayDone, Count: &n}, {Type: TypeReplayDone, Count: &zero}, {Type: TypeReplayDone, Count: &neg},
		{},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		pick := func() string {
			if r.IntN(3) == 0 {
				return ""
			}
			return strs[r.IntN(len(strs))]
		}
		frames = append(frames, OutFrame{Type: pick(), ClientMessageID: pick(), MessageID: pick(), SenderID: pick(),
			RecipientID: pick(), Content: pick(), State: pick(), CreatedAt: pick(), Code: pick(), Message: pick()})
	}
	for _, f := range frames {
		want, err := json.Marshal(&f, encodeOpts)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Encode(); string(got) != string(want) {
			t.Fatalf("Encode(%+v)\n = %s\nwant %s", f, got, want)
		}
	}
}

// TestFormatTimeAgreesWithLayout: the hand-written form is TimeFormat's,
// in UTC, for any time and zone.
func TestFormatTimeAgreesWithLayout(t *testing.T) {
	zone := time.FixedZone("X", -5*3600-30*60)
	times := []time.Time{time.Now(), {}, time.Unix(0, 0), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 1, 0, 30, 0, 1e6, zone)}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		times = append(times, time.Unix(r.Int64N(400e9)-100e9, r.Int64N(1e9)).In(zone))
	}
	for _, tm := range times {
		if got, want := FormatTime(tm), tm.UTC().Format(TimeFormat); got != want {
			t.Fatalf("FormatTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestScanFlatFrameAgreesWithUnmarshal: whatever scanFlatFrame accepts,
// the library decodes to the same frame; random frames built from pieces
// that the fast path must refuse (other cases, escapes, other values,
// unknown members, bad JSON) cover both ways.
func TestScanFlatFrameAgreesWithUnmarshal(t *testing.T) {
	names := []string{`"type"`, `"clientMessageId"`, `"recipientId"`, `"content"`, `"messageId"`,
		`"TYPE"`, `"MessageId"`, `"extra"`, `"type\u0000"`, `"ty\"pe"`, `type`, `""`}
	values := []string{`"MESSAGE_SEND"`, `"DELIVERY_ACK"`, `"c-1"`, `"u2"`, `"hello there"`, `""`, `"é😀"`,
		`"a\nb"`, `"\u0041"`, `"\ud800"`, `null`, `5`, `{"x":[1,2]}`, `[]`, `true`, `"unterminated`, "\"tab\there\""}
	spaces := []string{"", "", "", " ", "\n\t\r "}
	inputs := []string{``, `{}`, ` { } `, `{} x`, `[]`, `null`, `"x"`, `{`, `{"type":"DELIVERY_ACK",}`,
		`{"type":"DELIVERY_ACK" "messageId":"1"}`, `{"type" "x"}`, `{,}`}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		sp := func() string { return spaces[r.IntN(len(spaces))] }
		var b strings.Builder
		b.WriteString(sp() + "{")
		for k := range r.IntN(6) {
			if k > 0 {
				b.WriteString(sp() + ",")
			}
			b.WriteString(sp() + names[r.IntN(len(names))] + sp() + ":" + sp() + values[r.IntN(len(values))])
		}
		b.WriteString(sp() + "}" + sp())
		inputs = append(inputs, b.String())
	}
	fast := 0
	for _, in := range inputs {
		var got InFrame
		if !scanFlatFrame([]byte(in), &got) {
			continue
		}
		fast++
		want, err := unmarshalFrame([]byte(in))
		if err != nil || got != want {
			t.Fatalf("%q: scanned %+v, library %+v (%v)", in, got, want, err)
		}
	}
	if fast < 1000 || fast == len(inputs) {
		t.Fatalf("the fast path took %d of %d inputs: the test no longer covers both ways", fast, len(inputs))
	}
}

// TestEncodeAllocatesItsSize: the fast encoding is built in one buffer
// that it fills, never grown.
func TestEncodeAllocatesItsSize(t *testing.T) {
	n := math.MinInt64
	for _, f := range []OutFrame{
		MessageFrame(Message{ID: "1", SenderID: "u1", RecipientID: "u2", Content: "hi", CreatedAt: time.Now()}),
		AckFrame(Message{ID: "1", ClientMessageID: "c-1", CreatedAt: time.Now()}),
		StateFrame("9"), {Type: TypeReplayDone, Count: &n}, ErrorFrame(CodeBadFrame, "m", "c", "i"),
	} {
		if b := f.Encode(); len(b) != encodedSizeBound(&f) && f.Count == nil || len(b) > encodedSizeBound(&f) {
			t.Errorf("%s: %d bytes, bound %d", b, len(b), encodedSizeBound(&f))
		}
	}
}

// TestIsPlainEveryByte: the eight-at-a-time check agrees with a byte by
// byte one for every byte value at every position of a word and its tail.
func TestIsPlainEveryByte(t *testing.T) {
	plainByte := func(c byte) bool {
		return c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	for c := range 256 {
		for pos := range 19 {
			b := []byte(strings.Repeat("x", 19))
			b[pos] = byte(c)
			if got, want := isPlain(string(b)), plainByte(byte(c)); got != want && c < utf8.RuneSelf {
				t.Fatalf("isPlain with byte %#x at %d = %v, want %v", c, pos, got, want)
			}
			if c >= utf8.RuneSelf && isPlain(string(b)) {
				t.Fatalf("isPlain took a lone byte %#x at %d", c, pos)
			}
		}
	}
	for _, s := range []string{"0123456789abcdef", "é😀日本語のテキスト", "xxxxxxx\u2028", "xxxxxxxxé", "xxxxxxxx\u2029x"} {
		if got, want := isPlain(s), !strings.ContainsAny(s, "\u2028\u2029"); got != want {
			t.Errorf("isPlain(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzScanFlatFrame: whatever scanFlatFrame takes, the library decodes
// to the same frame.
func FuzzScanFlatFrame(f *testing.F) {
	f.Add([]byte(`{"type":"MESSAGE_SEND","clientMessageId":"c1","recipientId":"u2","content":"hi"}`))
	f.Add([]byte(` {"type" : "DELIVERY_ACK" , "messageId":"1"} `))
	f.Add([]byte(`{"type":"DELIVERY_ACK","messageId":"1","messageId":"2"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got InFrame
		if !utf8.Valid(data) || !scanFlatFrame(data, &got) {
			return
		}
		want, err := unmarshalFrame(data)
		if err != nil || got != want {
			t.Fatalf("%q: scanned %+v, library %+v (%v)", data, got, want, err)
		}
	})
}

// FuzzEncode: the fast encoding, when it applies, is json.Marshal's.
func FuzzEncode(f *testing.F) {
	f.Add("MESSAGE", "c1", "1", "u1", "u2", "hi <b>", "SENT", "2026-01-01T00:00:00.000Z")
	f.Fuzz(func(t *testing.T, typ, cmid, mid, sid, rid, content, state, at string) {
		fr := OutFrame{Type: typ, ClientMessageID: cmid, MessageID: mid, SenderID: sid, RecipientID: rid,
			Content: content, State: state, CreatedAt: at}
		want, err := json.Marshal(&fr, encodeOpts)
		if err != nil {
			t.Fatal(err)
		}
		if got := fr.Encode(); string(got) != string(want) {
			t.Fatalf("Encode(%+v) = %s, want %s", fr, got, want)
		}
	})
}
