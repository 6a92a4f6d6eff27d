package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHasher(t *testing.T) {
	t.Parallel()
	h := Hasher{Cost: bcrypt.MinCost}
	long := strings.Repeat("é", 128) // 256 bytes: far past bcrypt's 72
	passwords := []string{"correct horse", long, strings.Repeat("a", 72), strings.Repeat("a", 72) + "b"}
	hashes := make([][]byte, len(passwords))
	for i, p := range passwords {
		hash, err := h.Hash(p)
		if err != nil {
			t.Fatalf("Hash(%d): %v", i, err)
		}
		if strings.Contains(string(hash), p) {
			t.Fatal("hash contains the password")
		}
		if cost, err := bcrypt.Cost(hash); err != nil || cost != bcrypt.MinCost {
			t.Fatalf("cost %d %v", cost, err)
		}
		hashes[i] = hash
	}
	for i, p := range passwords {
		for j := range passwords {
			if got := h.Check(hashes[j], p); got != (i == j) {
				t.Errorf("Check(hash %d, password %d) = %v", j, i, got)
			}
		}
	}
	// Characters past the 72nd byte count.
	if h.Check(hashes[2], passwords[3]) {
		t.Fatal("passwords differing after byte 72 matched")
	}
	if h.Check([]byte("not a hash"), passwords[0]) || h.Check(nil, "") {
		t.Fatal("malformed hash matched")
	}
	// Check is independent of the checking Hasher's cost.
	if !(Hasher{}).Check(hashes[0], passwords[0]) {
		t.Fatal("hash did not verify with another cost")
	}
}

func TestHasherDefaultCost(t *testing.T) {
	t.Parallel()
	if (Hasher{}).cost() != bcrypt.DefaultCost {
		t.Fatal("zero Hasher is not DefaultCost")
	}
	if _, err := (Hasher{Cost: bcrypt.MaxCost + 1}).Hash("password1"); err == nil {
		t.Fatal("invalid cost accepted")
	}
}

func TestValidUsernameAndPassword(t *testing.T) {
	t.Parallel()
	users := map[string]bool{
		"abc": true, "a_b.c-D9": true, strings.Repeat("x", 32): true,
		"ab": false, strings.Repeat("x", 33): false, "": false, "a b": false, "al!ce": false,
		"ünï": false, "a/b": false, "abc\n": false,
	}
	for u, want := range users {
		if ValidUsername(u) != want {
			t.Errorf("ValidUsername(%q) = %v", u, !want)
		}
	}
	passwords := map[string]bool{
		"12345678": true, strings.Repeat("p", 128): true, strings.Repeat("é", 128): true, "pass word": true,
		"1234567": false, strings.Repeat("p", 129): false, strings.Repeat("é", 129): false, "": false,
		"abcdefg\xff": false,
	}
	for p, want := range passwords {
		if ValidPassword(p) != want {
			t.Errorf("ValidPassword(%q) = %v", p, !want)
		}
	}
}
