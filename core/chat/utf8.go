package chat

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrNotUTF8 is wrapped by errors for JSON text whose strings are not valid
// UTF-8: encoding/json would silently turn them into U+FFFD, so a stored
// message or a password would differ from what the client sent.
var ErrNotUTF8 = errors.New("strings are not valid UTF-8")

// CheckJSONText reports, as ErrNotUTF8, JSON text that encoding/json would
// rewrite while decoding: raw bytes that are not UTF-8, and \u escapes of
// lone UTF-16 surrogates (both decode to U+FFFD). It expects data that
// encoding/json has already accepted as JSON; on other input it never
// panics but may miss a surrogate.
func CheckJSONText(data []byte) error {
	if !utf8.Valid(data) {
		return ErrNotUTF8
	}
	if hasLoneSurrogate(data) {
		return ErrNotUTF8
	}
	return nil
}

// hasLoneSurrogate scans the escapes of JSON text for a UTF-16 surrogate that
// is not a high surrogate directly followed by a low one, which is exactly
// what encoding/json replaces with U+FFFD. In valid JSON every backslash is
// inside a string, so no string tracking is needed.
func hasLoneSurrogate(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		r, ok := unicodeEscape(data, i)
		if !ok {
			i++ // a two-byte escape such as \\ or \"
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if low, ok := unicodeEscape(data, i+6); ok && low >= 0xDC00 && low <= 0xDFFF {
				i += 11
				continue
			}
			return true
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		}
		i += 5
	}
	return false
}

// unicodeEscape decodes the \uXXXX escape at data[i:], if there is one.
func unicodeEscape(data []byte, i int) (rune, bool) {
	if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range data[i+2 : i+6] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// hasReplacement reports whether any of ss holds U+FFFD, the only trace a
// rewritten escape leaves after decoding.
func hasReplacement(ss ...string) bool {
	for _, s := range ss {
		if strings.ContainsRune(s, utf8.RuneError) {
			return true
		}
	}
	return false
}
