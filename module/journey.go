package module

import (
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/journey"
	"github.com/gatehouse-dev/gatehouse/journey/device"
)

// JourneyConfig is one journey of the gatehouse app (`journeys`; README, Journeys): a name
// and its steps. The step and field options are documented on journey.StepConfig and
// journey.FieldConfig.
type (
	JourneyConfig       = journey.Definition
	JourneyStepConfig   = journey.StepConfig
	JourneyFieldConfig  = journey.FieldConfig
	JourneyBranchConfig = journey.BranchConfig
)

// CompileJourney checks one journey as loading the configuration does (the Caddyfile
// adapter uses it to report problems with the step's line).
func CompileJourney(j JourneyConfig) error {
	env, err := journey.NewEnv()
	if err != nil {
		return err
	}
	_, err = journey.Compile([]journey.Definition{j}, env)
	return err
}

// checkJourneys reports every problem of the journeys (each naming the journey and the
// step) and the clients' default_journey naming none of them.
func (a *App) checkJourneys(v *Validator, path string) {
	if len(a.Journeys) > 0 {
		env, err := journey.NewEnv()
		if err != nil {
			v.Errorf(path+".journeys", "%v", err)
			return
		}
		if _, err := journey.Compile(a.Journeys, env); err != nil {
			var multi interface{ Unwrap() []error }
			if errors.As(err, &multi) {
				for _, e := range multi.Unwrap() {
					v.Errorf(path+".journeys", "%v", e)
				}
			} else {
				v.Errorf(path+".journeys", "%v", err)
			}
		}
	}
	names := map[string]bool{}
	for _, j := range a.Journeys {
		names[j.Name] = true
	}
	for i, c := range a.Clients {
		if c.DefaultJourney != "" && !names[c.DefaultJourney] {
			v.Errorf(elem(path+".clients", i, c.ID)+".default_journey", "names no journey: %q (define it with `journey %s { ... }`)", c.DefaultJourney, c.DefaultJourney)
		}
	}
}

// journeyEngine builds the engine of the configured journeys (nil when there are none).
func (a *App) journeyEngine() (*journey.Engine, error) {
	if len(a.Journeys) == 0 {
		return nil, nil
	}
	env, err := journey.NewEnv()
	if err != nil {
		return nil, err
	}
	js, err := journey.Compile(a.Journeys, env)
	if err != nil {
		return nil, fmt.Errorf("gatehouse journeys: %w", err)
	}
	p := a.provider
	e := &journey.Engine{Journeys: js, Env: env, Store: a.store, Users: p.Accounts, Now: p.Now, Logger: a.slog,
		Audit: a.trail, Verify: p.Verification,
		Devices: &device.Keeper{Key: a.portal.keys.DeriveKey("journey-device-cookie")}}
	if p.Approval != nil {
		e.Approver = p.Approval
	}
	return e, nil
}
