package login

import (
	"errors"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/metrics"
)

// Count reports a finished login attempt of method to rec (nil: nothing) and returns res and
// err unchanged: success without an error, locked for a *lockout.LockedError, failure for
// one of failures (wrong credentials), error otherwise.
func Count(rec metrics.Recorder, method string, res Result, err error, failures ...error) (Result, error) {
	if rec == nil {
		return res, err
	}
	result := metrics.Success
	if err != nil {
		result = metrics.Error
		var locked *lockout.LockedError
		if errors.As(err, &locked) {
			result = metrics.Locked
		}
		for _, f := range failures {
			if errors.Is(err, f) {
				result = metrics.Failure
			}
		}
	}
	rec.LoginResult(method, result)
	return res, err
}
