package journey

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
)

// Journey is a compiled journey.
type Journey struct {
	Name  string
	steps []compiled
	index map[string]int
	// clients are Definition.Clients (nil: any first-party client, and the portal).
	clients []string
}

// AllowsClient reports whether a client may run the journey; clientID "" is the portal's
// self-service start, allowed only for a journey that lists no clients.
func (j *Journey) AllowsClient(clientID string) bool {
	if len(j.clients) == 0 {
		return true
	}
	return clientID != "" && slices.Contains(j.clients, clientID)
}

type compiled struct {
	cfg    StepConfig
	step   Step
	traits Traits
	// external is the external_user_id expression (auth_state unauthenticated).
	external *Expr
	// next is the index of the default successor (-1: none).
	next int
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	idRE   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ValidName reports whether name is a valid journey or step name.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Compile validates and compiles the definitions. It reports every problem, each naming
// the journey and the step: an unknown or unavailable step type, a goto or next to a
// missing step, a step that touches user data where no authenticated user can be, an
// expression that does not compile, and an external_user_id that reads anything but
// request.pushed.<name>.
func Compile(defs []Definition, env *Env) (map[string]*Journey, error) {
	out := map[string]*Journey{}
	var errs []error
	for i, d := range defs {
		if !nameRE.MatchString(d.Name) {
			errs = append(errs, fmt.Errorf("journeys[%d]: name %q: use 1-64 letters, digits, - and _", i, d.Name))
			continue
		}
		if _, dup := out[d.Name]; dup {
			errs = append(errs, fmt.Errorf("journey %q is defined twice", d.Name))
			continue
		}
		j, jerrs := compileOne(d, env)
		errs = append(errs, jerrs...)
		if len(jerrs) == 0 {
			out[d.Name] = j
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func compileOne(d Definition, env *Env) (*Journey, []error) {
	var errs []error
	fail := func(step string, format string, args ...any) {
		where := fmt.Sprintf("journey %q", d.Name)
		if step != "" {
			where += fmt.Sprintf(" step %q", step)
		}
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	if len(d.Steps) == 0 {
		fail("", "has no steps")
		return nil, errs
	}
	if len(d.Steps) > 100 {
		fail("", "has more than 100 steps")
		return nil, errs
	}
	j := &Journey{Name: d.Name, index: map[string]int{}, clients: d.Clients}
	for _, id := range d.Clients {
		if id == "" || len(id) > 255 {
			fail("", "clients: a client ID of 1-255 characters, got %q", id)
		}
	}
	for _, sc := range d.Steps {
		if sc.AuthState == AuthUnauthenticated && len(d.Clients) == 0 {
			fail(sc.ID, "auth_state unauthenticated acts on the external_user_id a client pushes: list the clients allowed to run this journey (clients <id> ...)")
			break
		}
	}
	for i, sc := range d.Steps {
		if !idRE.MatchString(sc.ID) {
			fail(sc.ID, "step id: use 1-64 letters, digits, - and _")
		} else if _, dup := j.index[sc.ID]; dup {
			fail(sc.ID, "step id is used twice")
		}
		j.index[sc.ID] = i
	}
	for i, sc := range d.Steps {
		c := compiled{cfg: sc, next: -1}
		f, ok := registry[sc.Type]
		switch {
		case !ok:
			fail(sc.ID, "unknown step type %q (known: %s)", sc.Type, strings.Join(Types(), ", "))
		case f.Unavailable != "":
			fail(sc.ID, "%s", f.Unavailable)
		default:
			st, tr, err := f.New(sc, env)
			if err != nil {
				fail(sc.ID, "%v", err)
			}
			c.step, c.traits = st, tr
		}
		switch sc.AuthState {
		case "", AuthAuthenticated:
			if sc.ExternalUserID != "" {
				fail(sc.ID, "external_user_id needs auth_state unauthenticated")
			}
		case AuthUnauthenticated:
			if c.step != nil && !c.traits.TouchesUser {
				fail(sc.ID, "auth_state applies only to steps that read or write user data")
			}
			x, err := env.Compile(sc.ExternalUserID, cel.StringType)
			switch {
			case sc.ExternalUserID == "":
				fail(sc.ID, "auth_state unauthenticated needs external_user_id <expression>")
			case err != nil:
				fail(sc.ID, "external_user_id: %v", err)
			case !x.ReadsOnlyPushed():
				fail(sc.ID, "external_user_id %q may read only request.pushed.<name> (parameters of a pushed authorization request, which the client authenticated), never browser input", sc.ExternalUserID)
			default:
				c.external = x
			}
		default:
			fail(sc.ID, "auth_state must be authenticated or unauthenticated, got %q", sc.AuthState)
		}
		if sc.Next != "" {
			if _, ok := j.index[sc.Next]; !ok {
				fail(sc.ID, "next: there is no step %q", sc.Next)
			}
		}
		for _, b := range sc.Branches {
			if _, ok := j.index[b.Goto]; !ok {
				fail(sc.ID, "goto: there is no step %q", b.Goto)
			}
		}
		if !c.traits.Terminal {
			switch {
			case sc.Next != "":
				c.next = j.index[sc.Next]
			case i+1 < len(d.Steps):
				c.next = i + 1
			case c.step != nil:
				fail(sc.ID, "the last step must end the journey (complete or deny), or name its next step")
			}
		}
		j.steps = append(j.steps, c)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for _, i := range j.unauthenticatedUses() {
		fail(j.steps[i].cfg.ID, "step type %s reads or writes user data, but on some path from the start no step authenticates the user first (add an authenticate step, create_user with set_authenticated, or declare auth_state unauthenticated { external_user_id request.pushed.<name> })", j.steps[i].cfg.Type)
	}
	return j, errs
}

// successors returns the steps that may follow step i.
func (j *Journey) successors(i int) []int {
	c := j.steps[i]
	var out []int
	if c.next >= 0 {
		out = append(out, c.next)
	}
	for _, b := range c.cfg.Branches {
		out = append(out, j.index[b.Goto])
	}
	return out
}

// unauthenticatedUses returns the reachable steps that need an authenticated user
// (TouchesUser, auth_state authenticated) although some path from the start reaches them
// without an authenticating step: a forward "must" data-flow analysis over the step graph.
func (j *Journey) unauthenticatedUses() []int {
	n := len(j.steps)
	in := make([]bool, n) // authenticated on every path into i
	reach := make([]bool, n)
	for i := range in {
		in[i] = true
	}
	in[0] = false
	reach[0] = true
	for changed := true; changed; {
		changed = false
		for i := 0; i < n; i++ {
			if !reach[i] {
				continue
			}
			out := in[i] || j.steps[i].traits.Authenticates
			for _, s := range j.successors(i) {
				if !reach[s] {
					reach[s], changed = true, true
				}
				if in[s] && !out && s != 0 {
					in[s], changed = false, true
				}
			}
		}
	}
	var bad []int
	for i := 0; i < n; i++ {
		if reach[i] && !in[i] && j.steps[i].traits.TouchesUser && j.steps[i].external == nil {
			bad = append(bad, i)
		}
	}
	return bad
}
