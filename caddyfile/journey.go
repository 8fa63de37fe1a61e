package caddyfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/gatehouse-dev/gatehouse/module"
)

// parseJourney parses a `journey` block of the gatehouse global option (README, Journeys):
//
//	journey <name> {
//		step <id> <type> [<args...>] [{
//			auth_state authenticated | unauthenticated { external_user_id <expr> }
//			next <step>
//			methods <method...>          # authenticate (also as arguments)
//			second_factor                # authenticate: a multi-factor login
//			set_authenticated            # create_user (also as argument)
//			set <field> <expr>           # write_user, create_user
//			field <name> [<type>] [{ label <text>; required; options <o...>; min_length <n>; max_length <n>; pattern <re> }]
//			if <expr> goto <step>        # branch
//			message <text>               # deny (also as argument)
//			return_to <path>             # complete (also as argument)
//			handle <expr>                # restore_context (also as argument; default request.pushed.journey_context)
//			allow_otp                    # approve: a code may approve too (else only a passkey, unless the client allows codes)
//		}]
//	}
//
// Arguments by type: identify <email|phone|username>, authenticate [<method...>], deny
// [<message>], complete [<return_to>], create_user [set_authenticated], restore_context
// [<handle expr>]; known_device, verify_email, verify_phone, register_passkey,
// save_context and approve take none. The journey is
// compiled here too, so that an unknown step type, a goto to a missing step, an expression
// that does not compile or a step needing an authenticated user where none can be is
// reported with the step's line; `caddy run` checks the JSON again (module.Validate).
func parseJourney(d *caddyfile.Dispenser) (module.JourneyConfig, error) {
	var j module.JourneyConfig
	args := d.RemainingArgs()
	if len(args) != 1 {
		return j, d.Err("gatehouse: journey takes one name and a block of steps: journey <name> { step <id> <type> ... }")
	}
	j.Name = args[0]
	lines := map[string]int{}
	file := d.File()
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if d.Val() == "clients" {
			ids := d.RemainingArgs()
			if len(ids) == 0 {
				return j, d.Errf("gatehouse: journey %s: clients takes the IDs of the clients that may run it", j.Name)
			}
			j.Clients = append(j.Clients, ids...)
			continue
		}
		if d.Val() != "step" {
			return j, d.Errf("gatehouse: journey %s: unknown option %q (a journey is `clients <id>...` and a list of `step <id> <type>`)", j.Name, d.Val())
		}
		line := d.Line()
		s, err := parseStep(d, j.Name)
		if err != nil {
			return j, err
		}
		if _, dup := lines[s.ID]; !dup {
			lines[s.ID] = line
		}
		j.Steps = append(j.Steps, s)
	}
	if err := module.CompileJourney(j); err != nil {
		// Point at the first step the error names.
		best, at := -1, 0
		for id, line := range lines {
			if i := strings.Index(err.Error(), fmt.Sprintf("step %q", id)); i >= 0 && (best < 0 || i < best) {
				best, at = i, line
			}
		}
		if best >= 0 {
			return j, fmt.Errorf("gatehouse: %w, at %s:%d", err, file, at)
		}
		return j, d.Errf("gatehouse: %v", err)
	}
	return j, nil
}

func parseStep(d *caddyfile.Dispenser, journey string) (module.JourneyStepConfig, error) {
	var s module.JourneyStepConfig
	args := d.RemainingArgs()
	if len(args) < 2 {
		return s, d.Errf("gatehouse: journey %s: step takes an id and a type: step <id> <type> [<args>]", journey)
	}
	s.ID, s.Type = args[0], args[1]
	where := fmt.Sprintf("gatehouse: journey %s step %s", journey, s.ID)
	rest := args[2:]
	switch s.Type {
	case "identify":
		if len(rest) == 1 {
			s.Identifier = rest[0]
			rest = nil
		}
	case "authenticate":
		s.Methods, rest = rest, nil
	case "deny":
		if len(rest) == 1 {
			s.Message, rest = rest[0], nil
		}
	case "complete":
		if len(rest) == 1 {
			s.ReturnTo, rest = rest[0], nil
		}
	case "restore_context":
		if len(rest) == 1 {
			s.Handle, rest = rest[0], nil
		}
	case "create_user":
		if len(rest) == 1 && rest[0] == "set_authenticated" {
			s.SetAuthenticated, rest = true, nil
		}
	}
	if len(rest) > 0 {
		return s, d.Errf("%s: unexpected arguments %q for a %s step", where, rest, s.Type)
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		args := d.RemainingArgs()
		need := func(n int, usage string) error {
			if len(args) != n {
				return d.Errf("%s: %s", where, usage)
			}
			return nil
		}
		var err error
		switch opt {
		case "auth_state":
			if err = need(1, "auth_state authenticated | unauthenticated { external_user_id <expr> }"); err != nil {
				return s, err
			}
			s.AuthState = args[0]
			for n := d.Nesting(); d.NextBlock(n); {
				if d.Val() != "external_user_id" {
					return s, d.Errf("%s: auth_state: unknown option %q (external_user_id <expr>)", where, d.Val())
				}
				a := d.RemainingArgs()
				if len(a) != 1 {
					return s, d.Errf("%s: external_user_id takes one expression (quote it)", where)
				}
				s.ExternalUserID = a[0]
			}
		case "next":
			err = need(1, "next <step>")
			s.Next = first(args)
		case "methods":
			if len(args) == 0 {
				return s, d.Errf("%s: methods <method...>", where)
			}
			s.Methods = append(s.Methods, args...)
		case "second_factor":
			err = need(0, "second_factor takes no arguments")
			s.SecondFactor = true
		case "set_authenticated":
			err = need(0, "set_authenticated takes no arguments")
			s.SetAuthenticated = true
		case "set":
			if err = need(2, "set <field> <expression> (quote the expression)"); err != nil {
				return s, err
			}
			if s.Set == nil {
				s.Set = map[string]string{}
			}
			s.Set[args[0]] = args[1]
		case "field":
			if len(args) < 1 || len(args) > 2 {
				return s, d.Errf("%s: field <name> [<type>] [{ ... }]", where)
			}
			f := module.JourneyFieldConfig{Name: args[0]}
			if len(args) == 2 {
				f.Type = args[1]
			}
			if err := parseField(d, &f, where); err != nil {
				return s, err
			}
			s.Fields = append(s.Fields, f)
		case "if":
			if len(args) != 3 || args[1] != "goto" {
				return s, d.Errf("%s: if <expression> goto <step> (quote the expression)", where)
			}
			s.Branches = append(s.Branches, module.JourneyBranchConfig{If: args[0], Goto: args[2]})
		case "message":
			err = need(1, "message <text> (quote it)")
			s.Message = first(args)
		case "return_to":
			err = need(1, "return_to <path>")
			s.ReturnTo = first(args)
		case "handle":
			err = need(1, "handle <expression> (quote it)")
			s.Handle = first(args)
		case "allow_otp":
			err = need(0, "allow_otp takes no arguments")
			s.AllowOTP = true
		default:
			return s, d.Errf("%s: unknown option %q (auth_state, next, methods, second_factor, set_authenticated, set, field, if, message, return_to, handle, allow_otp)", where, opt)
		}
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

func parseField(d *caddyfile.Dispenser, f *module.JourneyFieldConfig, where string) error {
	for n := d.Nesting(); d.NextBlock(n); {
		opt := d.Val()
		args := d.RemainingArgs()
		switch opt {
		case "label", "pattern":
			if len(args) != 1 {
				return d.Errf("%s: field %s: %s takes one value (quote it)", where, f.Name, opt)
			}
			if opt == "label" {
				f.Label = args[0]
			} else {
				f.Pattern = args[0]
			}
		case "required":
			f.Required = true
		case "options":
			if len(args) == 0 {
				return d.Errf("%s: field %s: options <value...>", where, f.Name)
			}
			f.Options = append(f.Options, args...)
		case "min_length", "max_length":
			if len(args) != 1 {
				return d.Errf("%s: field %s: %s <n>", where, f.Name, opt)
			}
			v, err := strconv.Atoi(args[0])
			if err != nil || v < 0 {
				return d.Errf("%s: field %s: %s %q: use a whole number", where, f.Name, opt, args[0])
			}
			if opt == "min_length" {
				f.MinLength = v
			} else {
				f.MaxLength = v
			}
		default:
			return d.Errf("%s: field %s: unknown option %q (label, required, options, min_length, max_length, pattern)", where, f.Name, opt)
		}
	}
	return nil
}

func first(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return a[0]
}
