package eventpattern

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ---- IP addresses -------------------------------------------------------------------

// parseIP accepts what event-ruler treats as an IP literal: dotted-quad IPv4, or text of
// hex digits and colons (at least one colon) that is a valid IPv6 address. IPv4-mapped
// IPv6 addresses become IPv4, as Java's InetAddress does.
func parseIP(s string) (netip.Addr, bool) {
	if looksIPv4(s) {
		var b [4]byte
		part := 0
		val := 0
		digits := 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == '.' {
				if digits == 0 || val > 255 {
					return netip.Addr{}, false
				}
				b[part] = byte(val)
				part++
				val, digits = 0, 0
				continue
			}
			val = val*10 + int(s[i]-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		}
		return netip.AddrFrom4(b), true
	}
	if looksIPv6(s) {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

func looksIPv4(s string) bool {
	dots, digits := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if digits == 0 {
				return false
			}
			dots++
			digits = 0
		case c >= '0' && c <= '9':
			digits++
		default:
			return false
		}
	}
	return dots == 3 && digits > 0
}

func looksIPv6(s string) bool {
	colon := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			colon = true
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return colon
}

// ipRange is an inclusive range of addresses of one family.
type ipRange struct {
	lo, hi netip.Addr
}

func (r ipRange) contains(a netip.Addr) bool {
	if a.BitLen() == r.lo.BitLen() {
		return r.lo.Compare(a) <= 0 && a.Compare(r.hi) <= 0
	}
	return crossFamilyIn(a, r.lo, r.hi)
}

// crossFamilyIn answers as event-ruler does for an address of the other family than
// the range: it matches addresses as hex-digit strings (8 for IPv4, 32 for IPv6) in a
// byte trie. A longer address matches once its first digits are in the range; a shorter
// one only when it has left both bounds' prefixes before it ends. So 10.0.0.0/8 holds
// a00:1:: and ::/1 holds 0.0.0.2, while 2001:db8::/32 does not hold 32.1.13.184.
func crossFamilyIn(a, lo, hi netip.Addr) bool {
	v, b, t := hexDigits(a), hexDigits(lo), hexDigits(hi)
	if len(v) > len(b) {
		p := v[:len(b)]
		return b <= p && p <= t
	}
	return v > b[:len(v)] && v < t[:len(v)]
}

func hexDigits(a netip.Addr) string {
	const digits = "0123456789ABCDEF"
	bs := a.AsSlice()
	out := make([]byte, 0, 2*len(bs))
	for _, x := range bs {
		out = append(out, digits[x>>4], digits[x&0xf])
	}
	return string(out)
}

func parseCIDR(s string) (ipRange, error) {
	addrText, bitsText, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(bitsText, "/") {
		return ipRange{}, errors.New("malformed CIDR, one '/' required")
	}
	bits, err := strconv.Atoi(bitsText)
	if err != nil {
		return ipRange{}, errors.New("malformed CIDR, mask bits must be an integer")
	}
	if bits < 0 {
		return ipRange{}, errors.New("malformed CIDR, mask bits must not be negative")
	}
	addr, ok := parseIP(addrText)
	if !ok {
		return ipRange{}, fmt.Errorf("invalid IP address %q", addrText)
	}
	// event-ruler refuses a single-address CIDR (/32, /128): its mask must be shorter
	// than the address.
	if bits >= addr.BitLen() {
		return ipRange{}, fmt.Errorf("mask bits must be less than %d", addr.BitLen())
	}
	p := netip.PrefixFrom(addr, bits).Masked()
	lo := p.Addr()
	hiBytes := lo.AsSlice()
	for i := range hiBytes {
		hostBits := len(hiBytes)*8 - bits - (len(hiBytes)-1-i)*8 // host bits in this byte, from the right
		switch {
		case hostBits >= 8:
			hiBytes[i] = 0xff
		case hostBits > 0:
			hiBytes[i] |= byte(1<<hostBits) - 1
		}
	}
	hi, _ := netip.AddrFromSlice(hiBytes)
	return ipRange{lo: lo, hi: hi}, nil
}

// ---- wildcard -----------------------------------------------------------------------

// wildcard is a compiled wildcard pattern: literal pieces separated by '*'.
type wildcard struct {
	pieces []string // len(pieces) == number of stars + 1
}

// compileWildcard validates like event-ruler's WildcardParser: "\*" is a literal star,
// "\\" a literal backslash, any other backslash is an error, and "**" is rejected.
// Positions in messages are byte offsets into the wildcard string, as event-ruler reports.
func compileWildcard(s string) (*wildcard, error) {
	w := &wildcard{}
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return nil, fmt.Errorf("consecutive wildcard characters at pos %d", i+1)
			}
			w.pieces = append(w.pieces, cur.String())
			cur.Reset()
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '\\') {
				cur.WriteByte(s[i+1])
				i++
				continue
			}
			return nil, fmt.Errorf("invalid escape character at pos %d", i)
		default:
			cur.WriteByte(s[i])
		}
	}
	w.pieces = append(w.pieces, cur.String())
	return w, nil
}

func (w *wildcard) match(v string) bool {
	p := w.pieces
	if len(p) == 1 {
		return v == p[0]
	}
	first, last := p[0], p[len(p)-1]
	if len(v) < len(first)+len(last) || !strings.HasPrefix(v, first) || !strings.HasSuffix(v, last) {
		return false
	}
	mid := v[len(first) : len(v)-len(last)]
	// Leftmost placement of each middle piece is optimal for '*'-only globs.
	for _, piece := range p[1 : len(p)-1] {
		i := strings.Index(mid, piece)
		if i < 0 {
			return false
		}
		mid = mid[i+len(piece):]
	}
	return true
}

// ---- equals-ignore-case -------------------------------------------------------------

// foldPattern is an equals-ignore-case pattern as event-ruler builds it: each character
// of the pattern may appear in the event as its lower-case or its upper-case form (Java
// String.toLowerCase/toUpperCase of that one character, so "ß" also matches "SS"). The
// event itself is not case-mapped.
type foldPattern struct {
	ascii   string     // lower-cased pattern when it is all ASCII (fast path), else ""
	alts    [][]string // per character: its distinct forms
	isASCII bool
}

func compileFold(s string) *foldPattern {
	f := &foldPattern{isASCII: true}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			f.isASCII = false
			break
		}
	}
	if f.isASCII {
		f.ascii = strings.ToLower(s)
		return f
	}
	for _, r := range s {
		lower, upper := javaLower(r), javaUpper(r)
		if lower == upper {
			f.alts = append(f.alts, []string{lower})
		} else {
			f.alts = append(f.alts, []string{lower, upper})
		}
	}
	return f
}

func javaLower(r rune) string {
	if s, ok := specialLower[r]; ok {
		return s
	}
	return string(unicode.ToLower(r))
}

func javaUpper(r rune) string {
	if s, ok := specialUpper[r]; ok {
		return s
	}
	return string(unicode.ToUpper(r))
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldASCII compares v with an all-ASCII lower-case pattern.
func equalFoldASCII(v, lowerPattern string) bool {
	if len(v) != len(lowerPattern) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if lowerASCII(v[i]) != lowerPattern[i] {
			return false
		}
	}
	return true
}

// fold modes
const (
	foldEqual = iota
	foldPrefix
	foldSuffix
)

// match reports whether v equals (or, by mode, starts or ends with) the pattern.
func (f *foldPattern) match(v string, mode int) bool {
	if f.isASCII {
		n := len(f.ascii)
		switch mode {
		case foldEqual:
			return equalFoldASCII(v, f.ascii)
		case foldPrefix:
			return len(v) >= n && equalFoldASCII(v[:n], f.ascii)
		default:
			return len(v) >= n && equalFoldASCII(v[len(v)-n:], f.ascii)
		}
	}
	// Forms of one character can differ in byte length, so track every offset reachable
	// after consuming a prefix (or, for suffix, a tail) of the pattern.
	var buf [8]int
	offs := append(buf[:0], 0)
	if mode == foldSuffix {
		offs[0] = len(v)
		for i := len(f.alts) - 1; i >= 0 && len(offs) > 0; i-- {
			var next []int
			for _, o := range offs {
				for _, a := range f.alts[i] {
					if o >= len(a) && v[o-len(a):o] == a {
						next = appendUnique(next, o-len(a))
					}
				}
			}
			offs = next
		}
		return len(offs) > 0
	}
	for i := 0; i < len(f.alts) && len(offs) > 0; i++ {
		var next []int
		for _, o := range offs {
			for _, a := range f.alts[i] {
				if strings.HasPrefix(v[o:], a) {
					next = appendUnique(next, o+len(a))
				}
			}
		}
		offs = next
	}
	if mode == foldPrefix {
		return len(offs) > 0
	}
	for _, o := range offs {
		if o == len(v) {
			return true
		}
	}
	return false
}

func appendUnique(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
