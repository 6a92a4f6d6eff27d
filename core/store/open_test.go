package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dmchat/dmchat/core/store"
)

func TestOpenMem(t *testing.T) {
	s, err := store.Open(context.Background(), "mem", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*store.Memory); !ok {
		t.Fatalf("Open(mem) = %T", s)
	}
}

func TestOpenUnsupported(t *testing.T) {
	for _, uri := range []string{"", "memory", "mysql://root:secret@db/chat", "sqlite3:x.db", "file:x.db", "redis://x"} {
		s, err := store.Open(context.Background(), uri, store.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", uri)
		}
		if !strings.Contains(err.Error(), "store: unsupported DB_URI") {
			t.Fatalf("Open(%q) error = %v", uri, err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error leaks the password: %v", err)
		}
	}
}
