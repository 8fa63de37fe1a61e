package portalkit

import "testing"

// The marked sentences must stay the ones the errors produce, or the pages show them
// untranslated.
func TestErrorMessagesMatch(t *testing.T) {
	for err, msg := range ErrorMessages {
		if got := Capitalize(err.Error()) + "."; got != msg {
			t.Errorf("ErrorMessages: the error reads %q, the catalog key is %q", got, msg)
		}
	}
	_ = inputMessages
}
