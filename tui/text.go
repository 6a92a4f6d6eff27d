package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// fit truncates s (which may hold ANSI styling) to w cells with an
// ellipsis, and pads it with spaces to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if n := w - ansi.StringWidth(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

// trunc truncates s to w cells with an ellipsis, without padding.
func trunc(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// width is s's width in cells, ANSI styling ignored.
func width(s string) int { return ansi.StringWidth(s) }

// joinRight puts right at the end of a w-cell line that starts with left,
// dropping right when both do not fit.
func joinRight(left, right string, w int) string {
	lw, rw := width(left), width(right)
	if lw+rw+1 > w {
		return fit(left, w)
	}
	return left + strings.Repeat(" ", w-lw-rw) + right
}

// box draws a w x h pane with a border and title around lines (h-2 of them
// are shown; missing ones are blank). The focused pane gets a heavy border
// and a marked title, so focus shows without colour too.
func box(ctx *Context, w, h int, title string, focused bool, lines []string) string {
	if w < 4 || h < 2 {
		return ""
	}
	st := ctx.Styles
	bs, ts := st.Border, st.Title
	tl, tr, bl, br, hz, vt := "╭", "╮", "╰", "╯", "─", "│"
	if focused {
		bs, ts = st.FocusBorder, st.FocusTitle
		tl, tr, bl, br, hz, vt = "┏", "┓", "┗", "┛", "━", "┃"
		title = "▶ " + title
	}
	inner := w - 2
	title = trunc(title, inner-3)
	top := bs.Render(tl+hz) + ts.Render(" "+title+" ")
	if rest := inner - 1 - width(title) - 2; rest > 0 {
		top += bs.Render(strings.Repeat(hz, rest))
	}
	top += bs.Render(tr)
	var b strings.Builder
	b.WriteString(top)
	for i := range h - 2 {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		b.WriteString("\n")
		b.WriteString(bs.Render(vt))
		b.WriteString(fit(l, inner))
		b.WriteString(bs.Render(vt))
	}
	b.WriteString("\n")
	b.WriteString(bs.Render(bl + strings.Repeat(hz, inner) + br))
	return b.String()
}

// scrollWindow returns the first visible index of a list of n rows shown
// h at a time so that cursor is visible, keeping the previous offset when
// possible.
func scrollWindow(offset, cursor, n, h int) int {
	if h <= 0 || n <= h {
		return 0
	}
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+h {
		offset = cursor - h + 1
	}
	return max(0, min(offset, n-h))
}

// stripStyles removes ANSI styling from s.
func stripStyles(s string) string { return ansi.Strip(s) }

// wrapText breaks s into at most n lines of w cells, at blanks where it
// can; the last line ends in an ellipsis when s does not fit.
func wrapText(s string, w, n int) []string {
	if w <= 0 || n <= 0 {
		return nil
	}
	var out []string
	for len(out) < n {
		if ansi.StringWidth(s) <= w {
			return append(out, s)
		}
		if len(out) == n-1 {
			return append(out, ansi.Truncate(s, w, "…"))
		}
		cut := ansi.Truncate(s, w, "")
		if i := strings.LastIndex(cut, " "); i > w/2 {
			cut = cut[:i]
		}
		out = append(out, cut)
		s = strings.TrimLeft(s[len(cut):], " ")
	}
	return out
}
