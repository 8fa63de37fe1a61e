package journey

import "context"

// knownDevice answers "was this browser seen for this user before": it checks the
// browser's device cookie (journey/device: HMAC-signed, bound to the user, expiring)
// against the step's user and sets device.known for the steps after it. It also asks for
// the browser to be remembered: when the journey completes after an authentication
// (State.AuthTime set by an authenticate step or a restored context), the handler issues
// the cookie. A forged, expired or other user's cookie is simply unknown.
type knownDevice struct{}

func init() {
	Register("known_device", Factory{New: newKnownDevice, Example: StepConfig{ID: "device", Type: "known_device"}})
}

func newKnownDevice(_ StepConfig, _ *Env) (Step, Traits, error) {
	return knownDevice{}, Traits{TouchesUser: true}, nil
}

func (knownDevice) Enter(_ context.Context, rc *Run) (Outcome, error) {
	if rc.User == nil {
		return Outcome{}, ErrNotAuthenticated
	}
	known := false
	if k := rc.Engine.Devices; k != nil && rc.Device.Cookie != "" {
		_, known = k.Verify(rc.Device.Cookie, rc.User.ID, rc.Now)
	}
	rc.State.DeviceKnown = known
	rc.State.RememberDevice = true
	return Outcome{Kind: Next}, nil
}

func (s knownDevice) Submit(ctx context.Context, rc *Run, _ Input) (Outcome, error) {
	return s.Enter(ctx, rc)
}

// DeviceToRemember returns the user whose device the handler should remember at a
// journey's successful end: the journey ran known_device and holds an authentication (an
// authenticate step or a restored context: creation alone is not one).
func (st *State) DeviceToRemember() (string, bool) {
	return st.UserID, st.RememberDevice && st.Authenticated && st.UserID != "" && !st.AuthTime.IsZero()
}
