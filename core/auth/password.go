package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Hasher hashes passwords with bcrypt. Cost is the bcrypt cost; 0 means
// bcrypt.DefaultCost (tests use bcrypt.MinCost). A Hasher is a value and
// safe for concurrent use.
//
// bcrypt reads at most 72 bytes, and passwords may be 128 characters of
// UTF-8, so the password is first reduced to base64(SHA-256(password)) (44
// bytes, no NUL): every character counts, and no long password is refused.
// Every hash of this system must therefore be made by Hasher.
type Hasher struct {
	Cost int
}

func (h Hasher) cost() int {
	if h.Cost == 0 {
		return bcrypt.DefaultCost
	}
	return h.Cost
}

// prehash turns any password into 44 bytes bcrypt reads in full.
func prehash(password string) []byte {
	sum := sha256.Sum256([]byte(password))
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum[:])
	return out
}

// Hash returns the bcrypt hash of password.
func (h Hasher) Hash(password string) ([]byte, error) {
	hash, err := bcrypt.GenerateFromPassword(prehash(password), h.cost())
	if err != nil {
		return nil, fmt.Errorf("auth: failed to hash password: %w", err)
	}
	return hash, nil
}

// Check reports whether password matches hash (made by Hash, at any cost).
// A malformed hash matches nothing.
func (h Hasher) Check(hash []byte, password string) bool {
	return bcrypt.CompareHashAndPassword(hash, prehash(password)) == nil
}
