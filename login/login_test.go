package login

import (
	"slices"
	"testing"
)

// TestAddAMR: RFC 8176 §1 "amr" is a list of the methods used; a second factor adds its
// values to those of the first login once each, in order, without changing the first list.
func TestAddAMR(t *testing.T) {
	first := []string{AMRPassword}
	got := AddAMR(first, AMROTP, AMRMFA, AMROTP)
	if !slices.Equal(got, []string{AMRPassword, AMROTP, AMRMFA}) {
		t.Fatalf("AddAMR = %v", got)
	}
	if !slices.Equal(first, []string{AMRPassword}) {
		t.Fatalf("the first login's amr changed: %v", first)
	}
	if got := AddAMR([]string{AMRPassword, AMRMFA}, AMRMFA); !slices.Equal(got, []string{AMRPassword, AMRMFA}) {
		t.Fatalf("a value already held is added again: %v", got)
	}
	if ACR(got) != ACRMultiFactor || ACR(first) != ACRSingleFactor {
		t.Fatalf("ACR: %s %s", ACR(got), ACR(first))
	}
}
