package scenario

import (
	"fmt"
	"strconv"
	"strings"
)

// A template is a value with $-references, expanded when the step runs
// (user and message ids exist only then):
//
//	$bob        the user id of user bob
//	$m1         the messageId of the message sent "as m1"
//	$m1.cmid    its clientMessageId
//	${pad 5000} 5000 'x' bytes (to build oversized frames)
//	$$          a literal '$'
type template struct {
	parts []tmplPart
}

type tmplPart struct {
	lit  string
	ref  string // name of a user or label; "" for a literal
	attr string // "" or "cmid"
	pad  int    // > 0 for ${pad N}
}

// maxPad bounds ${pad N}: well above the 64 KiB frame limit.
const maxPad = 1 << 20

// parseTemplate splits s into literals and references.
func parseTemplate(s string) (template, error) {
	var t template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			lit.WriteByte('$')
			i++
			continue
		}
		var body string
		if i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return t, fmt.Errorf("unterminated ${ in %q", s)
			}
			body = s[i+2 : i+2+end]
			i += 2 + end
		} else {
			j := i + 1
			for j < len(s) && (isNameByte(s[j]) || s[j] == '.' && j+1 < len(s) && isNameByte(s[j+1])) {
				j++
			}
			body = s[i+1 : j]
			i = j - 1
		}
		p, err := parseRef(body)
		if err != nil {
			return t, err
		}
		flush()
		t.parts = append(t.parts, p)
	}
	flush()
	return t, nil
}

func parseRef(body string) (tmplPart, error) {
	if rest, ok := strings.CutPrefix(body, "pad "); ok {
		n, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || n <= 0 || n > maxPad {
			return tmplPart{}, fmt.Errorf("expected ${pad N} with 0 < N <= %d, got ${%s}", maxPad, body)
		}
		return tmplPart{pad: n}, nil
	}
	name, attr, _ := strings.Cut(body, ".")
	if !isName(name) {
		return tmplPart{}, fmt.Errorf("expected a user or message label after '$', got %q", "$"+body)
	}
	if attr != "" && attr != "cmid" {
		return tmplPart{}, fmt.Errorf("expected $%s or $%s.cmid, got $%s", name, name, body)
	}
	return tmplPart{ref: name, attr: attr}, nil
}

// refs returns the names the template refers to.
func (t template) refs() []tmplPart {
	var out []tmplPart
	for _, p := range t.parts {
		if p.ref != "" {
			out = append(out, p)
		}
	}
	return out
}

// expand renders the template; resolve returns the value of a reference.
func (t template) expand(resolve func(name, attr string) (string, error)) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.pad > 0:
			b.WriteString(strings.Repeat("x", p.pad))
		case p.ref != "":
			v, err := resolve(p.ref, p.attr)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		default:
			b.WriteString(p.lit)
		}
	}
	return b.String(), nil
}

// String is the template as written (pads shortened).
func (t template) String() string {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.pad > 0:
			fmt.Fprintf(&b, "${pad %d}", p.pad)
		case p.ref != "" && p.attr != "":
			b.WriteString("$" + p.ref + "." + p.attr)
		case p.ref != "":
			b.WriteString("$" + p.ref)
		default:
			b.WriteString(strings.ReplaceAll(p.lit, "$", "$$"))
		}
	}
	return b.String()
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// isName reports whether s is a valid user name or message label.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}
