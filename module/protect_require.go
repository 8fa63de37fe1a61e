package module

import (
	"github.com/gatehouse-dev/gatehouse/handlers/protect"
)

// Require is one requirement of a gatehouse_protect route: a CEL expression over the
// credential's claims and the request, or a shorthand. Set exactly one field. All of a
// route's requirements must hold; a shorthand holds when the claim has any of its names.
type Require struct {
	// Expression is a CEL expression that must be true, over `claims` (sub, email,
	// email_verified, name, groups, roles, permissions, organization, amr, acr, auth_time
	// (a timestamp), scope, scopes, client_id, audience, custom_data) and `request`
	// (method, path, host, remote_ip), and `now` (a timestamp). It is type-checked at load and evaluated with a
	// cost limit; when it reads neither `request` nor `now`, its result is cached per credential.
	Expression string `json:"expression,omitempty"`
	// Roles: the token's roles claim must contain one of these.
	Roles []string `json:"roles,omitempty"`
	// Permissions: the token's permissions claim must contain one of these.
	Permissions []string `json:"permissions,omitempty"`
	// Organization: the token's organization claim must be this.
	Organization string `json:"organization,omitempty"`
}

func (q Require) requirement() protect.Requirement {
	return protect.Requirement{Expression: q.Expression, Roles: q.Roles, Permissions: q.Permissions, Organization: q.Organization}
}

// requirements converts the handler's requirements for the Guard.
func (p *Protect) requirements() []protect.Requirement {
	out := make([]protect.Requirement, len(p.Require))
	for i, q := range p.Require {
		out[i] = q.requirement()
	}
	return out
}

// Check compiles the requirement as the handler will (CEL parse, type check, cost
// estimate), so that the Caddyfile adapter can report a bad expression with its line.
func (q Require) Check() error {
	_, err := protect.CompileRequirement(q.requirement())
	return err
}

// checkRequire compiles every requirement, so that a typo, a type error or an expression
// too costly to evaluate fails at load with CEL's message.
func (p *Protect) checkRequire(v *Validator, path string) {
	for i, q := range p.Require {
		if _, err := protect.CompileRequirement(q.requirement()); err != nil {
			v.Errorf(index(path+".require", i), "%s", err.Error())
		}
	}
}
