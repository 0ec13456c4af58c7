package wsgateway

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// frame encodes one masked client frame with a payload of n bytes.
func frame(opcode byte, n int, fill byte) []byte {
	f := []byte{0x80 | opcode}
	switch {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, 1, 2, 3, 4) // masking key
	return append(f, bytes.Repeat([]byte{fill}, n)...)
}

// chunked reads at most k bytes per call, like a network connection might.
type chunked struct {
	r io.Reader
	k int
}

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.k)]) }

func TestFrameGuard(t *testing.T) {
	const max = 100
	ping := frame(0x9, 4, 'p')
	ok1, ok2, big := frame(0x1, 100, 'a'), frame(0x0, 126, 'b'), frame(0x2, 101, 'c')
	tests := []struct {
		name   string
		stream [][]byte
		want   []byte
	}{
		{"frames within the limit pass unchanged", [][]byte{ok1, ping, frame(0x2, 0, 0)}, bytes.Join([][]byte{ok1, ping, frame(0x2, 0, 0)}, nil)},
		{"oversized frame becomes a 1009 close", [][]byte{ok1, big, ok1}, append(bytes.Clone(ok1), tooBigClose...)},
		{"oversized continuation", [][]byte{ok2}, tooBigClose},
		{"64-bit length", [][]byte{frame(0x1, 70000, 'x')}, tooBigClose},
	}
	for _, tc := range tests {
		for _, k := range []int{1, 3, 7, 1 << 20} {
			t.Run(tc.name, func(t *testing.T) {
				g := &frameGuard{src: chunked{bytes.NewReader(bytes.Join(tc.stream, nil)), k}, max: max}
				got, err := io.ReadAll(chunked{g, k})
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			})
		}
	}
}

// FuzzFrameGuard checks that any byte stream passes through unchanged up to the first
// oversized data frame, and that the guard never returns more bytes than it got plus
// the substitute close frame.
func FuzzFrameGuard(f *testing.F) {
	f.Add(frame(0x1, 10, 'a'), 3)
	f.Add(append(frame(0x1, 10, 'a'), frame(0x2, 300, 'b')...), 1)
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 2)
	f.Add([]byte{0x81}, 5)
	f.Fuzz(func(t *testing.T, stream []byte, k int) {
		if k <= 0 || k > 1<<16 {
			k = 1
		}
		g := &frameGuard{src: chunked{bytes.NewReader(stream), k}, max: 128}
		got, err := io.ReadAll(chunked{g, k})
		if err != nil && err != io.ErrUnexpectedEOF {
			t.Fatalf("unexpected error %v", err)
		}
		if g.tripped {
			if !bytes.HasSuffix(got, tooBigClose) {
				t.Fatalf("tripped guard must end with the close frame, got %x", got)
			}
			got = got[:len(got)-len(tooBigClose)]
		}
		if !bytes.HasPrefix(stream, got) {
			t.Fatalf("guard changed the stream: got %x from %x", got, stream)
		}
	})
}
