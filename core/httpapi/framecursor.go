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

// advance moves the cursor over p, the next bytes of the stream. A
// header read whole is taken in one step; one split across reads is
// collected byte by byte.
func (f *frameCursor) advance(p []byte) {
	for len(p) > 0 {
		if f.left > 0 {
			k := int(min(int64(len(p)), f.left))
			f.left -= int64(k)
			p = p[k:]
			continue
		}
		if f.n == 0 && len(p) >= 2 {
			if size := headerSize(p[1]); len(p) >= size {
				f.left = payloadLength(p[:size])
				p = p[size:]
				continue
			}
		}
		f.hdr[f.n] = p[0]
		f.n++
		p = p[1:]
		if f.n >= 2 && f.n == headerSize(f.hdr[1]) {
			f.n, f.left = 0, payloadLength(f.hdr[:f.n])
		}
	}
}

// atBoundary reports whether the bytes read so far end a frame.
func (f *frameCursor) atBoundary() bool { return f.n == 0 && f.left == 0 }

// headerSize is the size of a frame header whose second byte is b1.
func headerSize(b1 byte) int {
	size := 2
	switch b1 & 0x7f {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if b1&0x80 != 0 {
		size += 4 // the mask key
	}
	return size
}

// payloadLength is the payload length a whole frame header h gives.
func payloadLength(h []byte) int64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return int64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		return int64(binary.BigEndian.Uint64(h[2:10]) &^ (1 << 63))
	default:
		return int64(n)
	}
}
