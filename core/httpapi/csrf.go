package httpapi

import (
	"mime"
	"net/http"
	"strings"

	"github.com/dmchat/dmchat/core/auth"
)

// refuseUnsafePost applies the contract's CSRF rule to a POST and reports
// whether it answered 403 FORBIDDEN:
//   - the Content-Type must be application/json (parameters allowed): a
//     cross-site form or "simple" fetch cannot send that without a CORS
//     preflight, which only CORS_ORIGIN is answered;
//   - one authenticated by the token cookie (the one credential a browser
//     adds by itself) that carries an Origin must come from an allowed
//     origin. A Bearer token is never added by a browser, so those POSTs
//     are not checked.
func (a *API) refuseUnsafePost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		a.fail(w, r, errPostNotJSON)
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" || !hasTokenCookie(r) || a.originAllowed(r, origin) {
		return false
	}
	a.fail(w, r, errCrossSite)
	return true
}

// originAllowed: CORS_ORIGIN, or the server's own origin (the scheme and
// Host the browser used). In development with CORS_ORIGIN empty every
// origin is allowed and answered (see corsAnswered), as the contract's
// default says; the Content-Type rule still stops cross-site forms there.
func (a *API) originAllowed(r *http.Request, origin string) bool {
	switch {
	case a.opts.CORSOrigin == "" && !a.opts.Production:
		return true
	case a.opts.CORSOrigin != "" && origin == a.opts.CORSOrigin:
		return true
	}
	own := a.proxies.scheme(r) + "://" + r.Host
	return strings.EqualFold(origin, own)
}

func hasTokenCookie(r *http.Request) bool {
	c, err := r.Cookie(auth.CookieName)
	return err == nil && c.Value != ""
}
