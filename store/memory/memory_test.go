package memory_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/memory"
	"github.com/gatehouse-dev/gatehouse/store/storetest"
)

func newStore(*testing.T) store.Store { return memory.New() }

func TestConformance(t *testing.T) { storetest.RunTests(t, newStore) }

func TestConcurrency(t *testing.T) { storetest.RunConcurrencyTests(t, newStore) }
