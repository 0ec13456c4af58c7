package wsgateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
)

// guardedWriter hands the WebSocket library a hijacked connection whose incoming
// bytes pass through a frameGuard, because the library reassembles messages and
// never shows frame sizes.
type guardedWriter struct {
	http.ResponseWriter
	maxFrame int64
}

func (w guardedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	// Bytes the server already buffered belong to the stream too.
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	src := io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), nc)
	gc := &guardedConn{Conn: nc, guard: &frameGuard{src: src, max: w.maxFrame}}
	return gc, bufio.NewReadWriter(bufio.NewReader(gc), brw.Writer), nil
}

type guardedConn struct {
	net.Conn
	guard *frameGuard
}

func (c *guardedConn) Read(p []byte) (int, error) { return c.guard.Read(p) }

// frameGuard passes client frames through unchanged until a data frame's payload is
// larger than max; then, as API Gateway closes such a connection with 1009, it
// feeds the library a client close frame with 1009 in place of that frame, so the
// library answers the client with close 1009 and reports 1009 to the gateway.
type frameGuard struct {
	src       io.Reader
	max       int64
	pending   []byte // header bytes (or the substitute close frame) not yet returned
	remaining uint64 // payload bytes of the current frame still to pass through
	tripped   bool
}

func (g *frameGuard) Read(p []byte) (int, error) {
	if len(g.pending) == 0 && g.remaining == 0 {
		if g.tripped {
			return 0, io.EOF
		}
		if err := g.nextHeader(); err != nil {
			return 0, err
		}
	}
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	if uint64(len(p)) > g.remaining {
		p = p[:g.remaining]
	}
	n, err := g.src.Read(p)
	g.remaining -= uint64(n)
	return n, err
}

// nextHeader reads one whole frame header, so no byte of an oversized frame ever
// reaches the library.
func (g *frameGuard) nextHeader() error {
	hdr := make([]byte, 2, 14)
	if _, err := io.ReadFull(g.src, hdr); err != nil {
		return err
	}
	extra := 0
	switch hdr[1] & 0x7f {
	case 126:
		extra = 2
	case 127:
		extra = 8
	}
	if hdr[1]&0x80 != 0 {
		extra += 4 // masking key
	}
	hdr = hdr[:2+extra]
	if _, err := io.ReadFull(g.src, hdr[2:]); err != nil {
		return err
	}
	var length uint64
	switch hdr[1] & 0x7f {
	case 126:
		length = uint64(binary.BigEndian.Uint16(hdr[2:4]))
	case 127:
		length = binary.BigEndian.Uint64(hdr[2:10])
	default:
		length = uint64(hdr[1] & 0x7f)
	}
	opcode := hdr[0] & 0x0f
	if opcode <= 0x2 && length > uint64(g.max) { // continuation, text, binary
		g.tripped = true
		g.pending = tooBigClose
		return nil
	}
	g.pending, g.remaining = hdr, length
	return nil
}

// tooBigClose is a masked (zero key) client close frame: 1009 "Message too big".
var tooBigClose = func() []byte {
	reason := "Message too big"
	f := []byte{0x88, 0x80 | byte(2+len(reason)), 0, 0, 0, 0, 0x03, 0xf1}
	return append(f, reason...)
}()
