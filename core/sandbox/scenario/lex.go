package scenario

import (
	"fmt"
	"strconv"
	"strings"
)

// token is one word of a scenario line. A word is a run of non-blank
// characters; double-quoted parts are unquoted with Go's rules ("a b\n") and
// single-quoted parts are taken literally ('{"type":"X"}'), so
// `"hello world"` and `content="hello world"` are one token each.
type token struct {
	Text   string // the word with quoted parts unquoted
	Col    int    // 1-based column of its first character
	Quoted bool   // the whole word was one quoted string: never a keyword
	// Key and Value split a key=value word at its first '=' when the key is
	// a bare identifier (letters, digits, '-', '_', '.'); Key is "" otherwise.
	Key, Value string
}

// String is the token as it is shown in error messages.
func (t token) String() string {
	if t.Quoted {
		return strconv.Quote(t.Text)
	}
	return t.Text
}

// lexLine splits one logical line into tokens. A '#' at the start of a word
// begins a comment that runs to the end of the line.
func lexLine(line string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(line) {
		c := line[i]
		if c == ' ' || c == '\t' || c == '\r' {
			i++
			continue
		}
		if c == '#' {
			break
		}
		start := i
		var b strings.Builder
		quotedParts, plainParts := 0, 0
		eqAt := -1 // index in b of the first '=' outside quotes
		for i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' {
			if line[i] == '"' {
				end, err := quotedEnd(line, i)
				if err != nil {
					return nil, fmt.Errorf("column %d: %w", i+1, err)
				}
				s, err := strconv.Unquote(line[i:end])
				if err != nil {
					return nil, fmt.Errorf("column %d: bad quoted string %s: %w", i+1, line[i:end], err)
				}
				b.WriteString(s)
				quotedParts++
				i = end
				continue
			}
			if line[i] == '\'' {
				end := strings.IndexByte(line[i+1:], '\'')
				if end < 0 {
					return nil, fmt.Errorf("column %d: unterminated string %s", i+1, line[i:])
				}
				b.WriteString(line[i+1 : i+1+end])
				quotedParts++
				i += end + 2
				continue
			}
			if line[i] == '=' && eqAt < 0 && quotedParts == 0 {
				eqAt = b.Len()
			}
			b.WriteByte(line[i])
			plainParts++
			i++
		}
		t := token{Text: b.String(), Col: start + 1, Quoted: quotedParts == 1 && plainParts == 0}
		if eqAt > 0 && isIdent(t.Text[:eqAt]) {
			t.Key, t.Value = t.Text[:eqAt], t.Text[eqAt+1:]
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// quotedEnd returns the index just past the string literal opening at
// line[i] == '"'.
func quotedEnd(line string, i int) (int, error) {
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string %s", line[i:])
}

// isIdent reports whether s is a bare key: letters, digits, '-', '_', '.'.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// logicalLines joins lines ending in a backslash with the next one. Each
// result keeps the number of its first physical line.
func logicalLines(src string) []numberedLine {
	var out []numberedLine
	phys := strings.Split(src, "\n")
	for i := 0; i < len(phys); i++ {
		first := i + 1
		text := strings.TrimRight(phys[i], " \t\r")
		for strings.HasSuffix(text, "\\") && i+1 < len(phys) {
			i++
			text = strings.TrimRight(strings.TrimSuffix(text, "\\"), " \t") + " " + strings.Trim(phys[i], " \t\r")
		}
		out = append(out, numberedLine{n: first, text: text})
	}
	return out
}

type numberedLine struct {
	n    int
	text string
}
