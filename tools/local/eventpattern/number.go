package eventpattern

import (
	"math"
	"strconv"
)

// comparableNumber reports the value of a JSON number when event-ruler can compare it
// numerically: the decimal must be exactly the value of Java's Double.toString of the
// nearest float64 (event-ruler's ComparableNumber: BigDecimal -> double ->
// BigDecimal.valueOf must round-trip). So 3.0e+2, 300 and 300.000 all give 300, while
// 0.30000000000000001 or 1E-325 are not comparable (they only match by their exact text).
func comparableNumber(text string) (float64, bool) {
	if isSmallInteger(text) { // exact in float64, the common case
		f, err := strconv.ParseFloat(text, 64)
		return f + 0, err == nil // + 0 turns -0 into 0
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	var a, b [40]byte
	negA, digA, expA, ok := decimalDigits(text, a[:0])
	if !ok {
		return 0, false
	}
	var fb [32]byte
	short := javaDecimal(fb[:0], f)
	negB, digB, expB, ok := decimalDigits(string(short), b[:0])
	if !ok {
		return 0, false
	}
	if len(digA) == 0 || len(digB) == 0 {
		// zero (BigDecimal has no negative zero, so -0 is 0)
		if len(digA) != len(digB) {
			return 0, false
		}
		return 0, true
	}
	if negA != negB || expA != expB || string(digA) != string(digB) {
		return 0, false
	}
	return f, true
}

// javaDecimal appends the decimal that Java's Double.toString (JDK 19 and later) gives
// for f. It is Go's shortest form except where that has a single digit: Java never
// writes fewer than two, and takes the two-digit decimal nearest to f. That only
// changes the value for subnormals with few bits, e.g. 4.9e-324 where Go says 5e-324,
// or 9.9e-324 where Go says 1e-323.
func javaDecimal(dst []byte, f float64) []byte {
	short := strconv.AppendFloat(dst, f, 'e', -1, 64)
	mant := short
	if mant[0] == '-' {
		mant = mant[1:]
	}
	if len(mant) < 2 || mant[1] != 'e' { // two digits or more: "d.ddde±x"
		return short
	}
	two := strconv.AppendFloat(short[len(short):], f, 'e', 1, 64) // after short: keep it intact
	if g, err := strconv.ParseFloat(string(two), 64); err == nil && g == f {
		return two
	}
	return short
}

// isSmallInteger reports an optional minus and 1 to 15 digits.
func isSmallInteger(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decimalDigits normalises a JSON number to sign, significant digits (no leading or
// trailing zeros) and the exponent of the first digit. Zero gives no digits.
// It returns ok=false when there are more than cap(buf) significant digits (such a
// number is never the shortest form of a float64) or the exponent is absurd.
func decimalDigits(s string, buf []byte) (neg bool, digits []byte, exp int, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	pointExp := 0 // position of the decimal point relative to the start of digits
	seenPoint := false
	started := false
	zerosPending := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			seenPoint = true
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		if !seenPoint {
			if started {
				pointExp++
			}
		}
		if c == '0' {
			if !started {
				if seenPoint {
					pointExp--
				}
				continue
			}
			zerosPending++
			continue
		}
		if !started {
			started = true
			if !seenPoint {
				pointExp = 1
			}
		}
		for ; zerosPending > 0; zerosPending-- {
			if len(buf) == cap(buf) {
				return false, nil, 0, false
			}
			buf = append(buf, '0')
		}
		if len(buf) == cap(buf) {
			return false, nil, 0, false
		}
		buf = append(buf, c)
	}
	e := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return false, nil, 0, false
			}
			if e < 1000000 { // saturate: such exponents are out of float64 range anyway
				e = e*10 + int(c-'0')
			}
		}
		if eneg {
			e = -e
		}
	}
	if i != len(s) {
		return false, nil, 0, false
	}
	if !started {
		return false, nil, 0, true
	}
	return neg, buf, pointExp + e, true
}
