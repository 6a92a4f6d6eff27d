// Package auth owns who a caller is: HS256 tokens (issue, parse, and where a
// request carries one), password hashing, the username and password rules,
// and the account operations built on them (register, login, the operator's
// admin bootstrap).
//
// Tokens hold jti (a random id, which logout revokes), sub (the user id),
// role, iat and exp. Banned is not in the token: it is stored state that
// callers check on every connect and request, and so is revocation.
//
// Nothing here logs, and no error text contains a password or a token.
package auth

import (
	"errors"
	"unicode/utf8"
)

// Sentinel errors; check with errors.Is.
var (
	// ErrInvalidToken: a missing, malformed, forged, expired or otherwise
	// unacceptable token. The wrapped error says which, for logs.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrInvalidUsername: not 3–32 characters of [a-zA-Z0-9_.-].
	ErrInvalidUsername = errors.New("auth: invalid username: want 3-32 characters of letters, digits, _ . -")
	// ErrInvalidPassword: not 8–128 characters.
	ErrInvalidPassword = errors.New("auth: invalid password: want 8-128 characters")
	// ErrBadCredentials: unknown user or wrong password (deliberately the
	// same error for both).
	ErrBadCredentials = errors.New("auth: bad credentials")
)

// Username and password length limits, in characters.
const (
	MinUsernameLen = 3
	MaxUsernameLen = 32
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// ValidUsername reports whether s is 3–32 characters of [a-zA-Z0-9_.-].
func ValidUsername(s string) bool {
	if len(s) < MinUsernameLen || len(s) > MaxUsernameLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ValidPassword reports whether s is valid UTF-8 of 8–128 characters
// (Unicode code points).
func ValidPassword(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := utf8.RuneCountInString(s)
	return n >= MinPasswordLen && n <= MaxPasswordLen
}
