package store_test

import (
	"testing"

	"github.com/dmchat/dmchat/core/store"
	"github.com/dmchat/dmchat/core/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
}
