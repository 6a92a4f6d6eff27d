package httpapi

import "encoding/binary"

// frameCursor follows the frame boundaries of the bytes a client sends
// (RFC 6455 §5.2: two header bytes, an extended length of 2 or 8, a
// 4-byte mask key, then the payload), so the connection knows when
// everything read so far ends exactly at the end of a frame: only there
// can a read give up (see errIdle) without leaving a frame half read.
type frameCursor struct {
	hdr  [14]byte // the current frame's header, while it is being read
	n    int      // how much of hdr has been read
	left int64    // the current frame's payload bytes still to come
}

// advance moves the cursor over p, the next bytes of the stream.
func (f *frameCursor) advance(p []byte) {
	for len(p) > 0 {
		if f.left > 0 {
			k := int(min(int64(len(p)), f.left))
			f.left -= int64(k)
			p = p[k:]
			continue
		}
		f.hdr[f.n] = p[0]
		f.n++
		p = p[1:]
		if f.n < 2 {
			continue
		}
		if size, length := frameHeader(f.hdr[:f.n]); f.n == size {
			f.n, f.left = 0, length
		}
	}
}

// atBoundary reports whether the bytes read so far end a frame.
func (f *frameCursor) atBoundary() bool { return f.n == 0 && f.left == 0 }

// frameHeader returns the size of the header h begins (at least two
// bytes of it) and, once h holds all of it, the payload length.
func frameHeader(h []byte) (size int, length int64) {
	size, length = 2, int64(h[1]&0x7f)
	switch length {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if h[1]&0x80 != 0 {
		size += 4 // the mask key
	}
	if len(h) < size {
		return size, 0
	}
	switch length {
	case 126:
		length = int64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		length = int64(binary.BigEndian.Uint64(h[2:10]) &^ (1 << 63))
	}
	return size, length
}
