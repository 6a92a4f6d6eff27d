package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// wsConn is the load tool's own WebSocket client: a text-frame-only RFC 6455
// client that reads into one reused buffer and writes any number of frames
// with one system call. It exists so that the tool stays lean enough not to
// be the bottleneck (core/client decodes every frame into a struct and
// writes one frame per call, which is right for tests, not for load).
//
// One goroutine reads (ReadFrame); any number may write (WriteFrames,
// Close), serialised by wmu.
type wsConn struct {
	nc net.Conn
	br *bufio.Reader

	// rbuf holds the payload of the last frame ReadFrame returned; it is
	// reused by the next call. Owned by the reading goroutine.
	rbuf []byte

	// wmu guards wbuf and the write side of nc; nothing else is called
	// while it is held.
	wmu    sync.Mutex
	wbuf   []byte
	mask   uint64 // xorshift state for masking keys
	closed bool
}

// wsCloseError is a connection the server closed; Code is its close code
// (-1 when it closed without a close frame).
type wsCloseError struct {
	Code   int
	Reason string
}

func (e *wsCloseError) Error() string {
	return fmt.Sprintf("bench: websocket closed with %d %s", e.Code, e.Reason)
}

// handshakeError is a refused upgrade.
type handshakeError struct{ Status int }

func (e *handshakeError) Error() string {
	return fmt.Sprintf("bench: websocket upgrade refused with HTTP %d", e.Status)
}

// dialOptions tune dialWS.
type dialOptions struct {
	// Token is sent as "Authorization: Bearer".
	Token string
	// LocalIP, when set, is the source address (spreading many sockets
	// over 127.0.0.x multiplies the ephemeral ports available).
	LocalIP net.IP
	// ReadBuffer is the size of the read buffer; default 4096.
	ReadBuffer int
	// RecvBuffer, when set, is the socket's kernel receive buffer
	// (SO_RCVBUF, which also stops its autotuning): a socket that never
	// reads then holds little in the tool's kernel and pushes back on the
	// server at once.
	RecvBuffer int
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialWS opens a WebSocket to wsURL (ws://host:port/path). ctx bounds the
// connect and the handshake.
func dialWS(ctx context.Context, wsURL string, o dialOptions) (*wsConn, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, fmt.Errorf("bench: failed to parse websocket url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "http" {
		return nil, fmt.Errorf("bench: unsupported websocket scheme %q (want ws://)", u.Scheme)
	}
	d := net.Dialer{}
	if o.LocalIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.LocalIP}
	}
	if o.RecvBuffer > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = setRecvBuffer(fd, o.RecvBuffer)
			})
			return errors.Join(err, serr)
		}
	}
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("bench: failed to connect: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c, err := handshake(nc, u, o)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func handshake(nc net.Conn, u *url.URL, o dialOptions) (*wsConn, error) {
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	k := base64.StdEncoding.EncodeToString(key[:])
	path := u.RequestURI()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + k + "\r\n"
	if o.Token != "" {
		req += "Authorization: Bearer " + o.Token + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		return nil, fmt.Errorf("bench: failed to send handshake: %w", err)
	}
	size := o.ReadBuffer
	if size <= 0 {
		size = 4096
	}
	br := bufio.NewReaderSize(nc, size)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, fmt.Errorf("bench: failed to read handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_ = resp.Body.Close()
		return nil, &handshakeError{Status: resp.StatusCode}
	}
	sum := sha1.Sum([]byte(k + wsGUID))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("bench: bad Sec-WebSocket-Accept in handshake")
	}
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	return &wsConn{nc: nc, br: br, mask: binary.LittleEndian.Uint64(seed[:]) | 1}, nil
}

// Opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// maxReadFrame bounds one server message (the server's frames are small).
const maxReadFrame = 1 << 20

// ReadFrame returns the payload of the next data message. The slice is
// valid until the next call. Pings are answered; a close frame is answered
// and returned as a *wsCloseError.
func (c *wsConn) ReadFrame() ([]byte, error) {
	c.rbuf = c.rbuf[:0]
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return nil, c.readErr(err)
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return nil, c.readErr(err)
			}
			n = int64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return nil, c.readErr(err)
			}
			n = int64(binary.BigEndian.Uint64(b[:]))
		}
		var mk [4]byte
		masked := h[1]&0x80 != 0
		if masked {
			if _, err := io.ReadFull(c.br, mk[:]); err != nil {
				return nil, c.readErr(err)
			}
		}
		if n < 0 || int64(len(c.rbuf))+n > maxReadFrame {
			return nil, fmt.Errorf("bench: server frame of %d bytes is too large", n)
		}
		start := len(c.rbuf)
		c.rbuf = grow(c.rbuf, int(n))
		if _, err := io.ReadFull(c.br, c.rbuf[start:]); err != nil {
			return nil, c.readErr(err)
		}
		if masked {
			maskBytes(c.rbuf[start:], mk)
		}
		switch op {
		case opPing:
			ping := append([]byte(nil), c.rbuf[start:]...)
			c.rbuf = c.rbuf[:start]
			_ = c.writeControl(opPong, ping)
			continue
		case opPong:
			c.rbuf = c.rbuf[:start]
			continue
		case opClose:
			payload := c.rbuf[start:]
			code, reason := 1005, ""
			if len(payload) >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
				reason = string(payload[2:])
			}
			_ = c.writeControl(opClose, payload[:min(2, len(payload))])
			_ = c.nc.Close()
			return nil, &wsCloseError{Code: code, Reason: reason}
		case opText, opBinary, opContinuation:
		default:
			return nil, fmt.Errorf("bench: unknown websocket opcode %d", op)
		}
		if fin {
			return c.rbuf, nil
		}
	}
}

func (c *wsConn) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return &wsCloseError{Code: -1}
	}
	return err
}

// Buffered reports whether more received bytes are waiting, so a reader can
// hold back its answers and write them together once it has caught up.
func (c *wsConn) Buffered() bool { return c.br.Buffered() > 0 }

// grow extends b by n bytes, reallocating only when its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, max(2*cap(b), len(b)+n, 512))
	copy(nb, b)
	return nb
}

// WriteFrames sends each payload as one masked text frame, all in one
// write. payloads may be reused once it returns.
func (c *wsConn) WriteFrames(payloads ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.wbuf = c.wbuf[:0]
	for _, p := range payloads {
		c.wbuf = c.appendFrame(c.wbuf, opText, p)
	}
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > 64<<10 {
		c.wbuf = nil // let a burst's buffer go
	}
	return err
}

// WriteBuffered sends frames already laid out by AppendText in one write.
func (c *wsConn) WriteBuffered(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	_, err := c.nc.Write(b)
	return err
}

// AppendText appends payload as one masked text frame to b. It is safe to
// call concurrently with everything (it touches only the mask state,
// under wmu).
func (c *wsConn) AppendText(b, payload []byte) []byte {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.appendFrame(b, opText, payload)
}

func (c *wsConn) writeControl(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	if op == opClose {
		c.closed = true
	}
	b := c.appendFrame(nil, op, payload)
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, err := c.nc.Write(b)
	_ = c.nc.SetWriteDeadline(time.Time{})
	return err
}

// appendFrame appends one masked frame. Called with wmu held.
func (c *wsConn) appendFrame(b []byte, op byte, p []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	// xorshift64: masking keys need not be cryptographic for a load tool
	// talking to its own server; the handshake key is.
	c.mask ^= c.mask << 13
	c.mask ^= c.mask >> 7
	c.mask ^= c.mask << 17
	var mk [4]byte
	binary.LittleEndian.PutUint32(mk[:], uint32(c.mask))
	b = append(b, mk[:]...)
	start := len(b)
	b = append(b, p...)
	maskBytes(b[start:], mk)
	return b
}

// maskBytes XORs p with the repeating 4-byte key, eight bytes at a time.
func maskBytes(p []byte, key [4]byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		v := binary.LittleEndian.Uint64(p[i:])
		binary.LittleEndian.PutUint64(p[i:], v^k64)
	}
	for j := 0; i < len(p); i, j = i+1, j+1 {
		p[i] ^= byte(k32 >> (8 * (j % 4)))
	}
}

// Close sends a close frame with 1000 and closes the socket without
// waiting for the server's answer (the reader sees it, or EOF).
func (c *wsConn) Close() error {
	_ = c.writeControl(opClose, []byte{0x03, 0xE8})
	return c.nc.Close()
}

// CloseNow drops the socket without a close frame.
func (c *wsConn) CloseNow() error {
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	return c.nc.Close()
}
