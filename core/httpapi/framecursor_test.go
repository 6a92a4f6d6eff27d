package httpapi

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// clientFrame is a masked frame as a client sends it.
func clientFrame(payload int) []byte {
	var b bytes.Buffer
	b.WriteByte(0x81) // FIN, text
	switch {
	case payload < 126:
		b.WriteByte(0x80 | byte(payload))
	case payload <= 0xffff:
		b.WriteByte(0x80 | 126)
		_ = binary.Write(&b, binary.BigEndian, uint16(payload))
	default:
		b.WriteByte(0x80 | 127)
		_ = binary.Write(&b, binary.BigEndian, uint64(payload))
	}
	b.Write([]byte{1, 2, 3, 4}) // mask key
	b.Write(make([]byte, payload))
	return b.Bytes()
}

// TestFrameCursorFindsEveryBoundary feeds frames of each header size in
// every split, one byte at a time, and checks the cursor is at a boundary
// exactly where a frame ends.
func TestFrameCursorFindsEveryBoundary(t *testing.T) {
	var stream []byte
	ends := map[int]bool{0: true}
	for _, n := range []int{0, 5, 125, 126, 300, 70000} {
		stream = append(stream, clientFrame(n)...)
		ends[len(stream)] = true
	}
	var f frameCursor
	for i := range stream {
		f.advance(stream[i : i+1])
		if got := f.atBoundary(); got != ends[i+1] {
			t.Fatalf("after %d bytes: at boundary %v, want %v", i+1, got, ends[i+1])
		}
	}
	// In large chunks, across frames.
	f = frameCursor{}
	f.advance(stream[:200])
	f.advance(stream[200:])
	if !f.atBoundary() {
		t.Fatal("whole stream in two reads: not at a boundary")
	}
}
