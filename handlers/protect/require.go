package protect

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/gatehouse-dev/gatehouse/idp"
)

// Requirement is one `require` line of a route: a CEL expression over the credential's claims
// and the request, or one of the shorthands (any of Roles, any of Permissions, the
// Organization), which compile to the same evaluation. Exactly one is set.
type Requirement struct {
	Expression   string
	Roles        []string
	Permissions  []string
	Organization string
}

// Name is how a denial names the requirement: the expression's text or the shorthand, never
// a claim value.
func (q Requirement) Name() string {
	switch {
	case len(q.Roles) > 0:
		return "role " + strings.Join(q.Roles, " or ")
	case len(q.Permissions) > 0:
		return "permission " + strings.Join(q.Permissions, " or ")
	case q.Organization != "":
		return "organization " + q.Organization
	}
	return q.Expression
}

// source is the CEL text of the requirement.
func (q Requirement) source() (string, error) {
	list := func(kind string, names []string) (string, error) {
		quoted := make([]string, len(names))
		for i, n := range names {
			if n == "" || strings.ContainsFunc(n, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				return "", fmt.Errorf("%s %q: names are non-empty and contain no spaces or control characters", kind, n)
			}
			quoted[i] = strconv.Quote(n)
		}
		return "[" + strings.Join(quoted, ", ") + "].exists(x, x in claims." + kind + "s)", nil
	}
	set := 0
	for _, b := range []bool{q.Expression != "", len(q.Roles) > 0, len(q.Permissions) > 0, q.Organization != ""} {
		if b {
			set++
		}
	}
	if set != 1 {
		return "", errors.New("set exactly one of expression, roles, permissions, organization")
	}
	switch {
	case len(q.Roles) > 0:
		return list("role", q.Roles)
	case len(q.Permissions) > 0:
		return list("permission", q.Permissions)
	case q.Organization != "":
		return "claims.organization == " + strconv.Quote(q.Organization), nil
	}
	return q.Expression, nil
}

// ClaimNames are the fields of `claims` an expression can read; RequestNames those of
// `request`.
var (
	ClaimNames = []string{"sub", "email", "email_verified", "name", "groups", "roles", "permissions",
		"organization", "amr", "acr", "auth_time", "scope", "scopes", "client_id", "audience", "custom_data"}
	RequestNames = []string{"method", "path", "host", "remote_ip"}
)

// MaxRequireCost is the cost limit of one expression (cel.CostLimit): an expression whose
// estimated worst case exceeds it is refused at load, and an evaluation that exceeds it
// at run time denies.
const MaxRequireCost = 10000

// maxClaimSize is the size the cost estimate assumes for a claim list, string or map.
const maxClaimSize = 256

var requireEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("claims", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("request", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("now", cel.TimestampType),
		ext.Strings(), // lowerAscii, split, ...: e.g. a case-insensitive path prefix
	)
	if err != nil {
		panic(err)
	}
	return env
}()

// compiledRequirement is a checked, planned requirement.
type compiledRequirement struct {
	name         string
	prg          cel.Program
	readsRequest bool
}

// CompileRequirement parses and type-checks a requirement and estimates its cost; the error
// is CEL's message, for the configuration error.
func CompileRequirement(q Requirement) (*compiledRequirement, error) {
	src, err := q.source()
	if err != nil {
		return nil, err
	}
	ast, iss := requireEnv.Compile(src)
	if iss.Err() != nil {
		return nil, errors.New(strings.TrimSpace(iss.Err().Error()))
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("the expression must be true or false, it is a %s", ast.OutputType())
	}
	native := ast.NativeRep()
	refs := native.ReferenceMap()
	reads := false
	var unknown error
	celast.PreOrderVisit(native.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() != celast.SelectKind {
			return
		}
		sel := e.AsSelect()
		op := sel.Operand()
		if op.Kind() != celast.IdentKind {
			return
		}
		ref, ok := refs[op.ID()]
		if !ok {
			return
		}
		known := ClaimNames
		switch ref.Name {
		case "request":
			known = RequestNames
		case "claims":
		default:
			return
		}
		if !contains(known, sel.FieldName()) && unknown == nil {
			unknown = fmt.Errorf("%s.%s is not known (%s has: %s)", ref.Name, sel.FieldName(), ref.Name, strings.Join(known, ", "))
		}
	}))
	if unknown != nil {
		return nil, unknown
	}
	for _, ref := range refs {
		if ref.Name == "request" || ref.Name == "now" {
			reads = true // the decision depends on the request or the time: not cached
		}
	}
	est, err := requireEnv.EstimateCost(ast, sizeEstimator{})
	if err != nil {
		return nil, fmt.Errorf("estimate cost: %w", err)
	}
	if est.Max > MaxRequireCost {
		return nil, fmt.Errorf("the expression may cost up to %d, more than the limit %d: compare fewer lists with each other", est.Max, MaxRequireCost)
	}
	prg, err := requireEnv.Program(ast, cel.CostLimit(MaxRequireCost), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return &compiledRequirement{name: q.Name(), prg: prg, readsRequest: reads}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sizeEstimator bounds the size of every claim and request value for the cost estimate.
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: maxClaimSize}
}

func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// requireSet is a Guard's requirements, all of which must hold.
type requireSet struct {
	list []*compiledRequirement
	// readsRequest: some requirement reads the request or the time (now): those are
	// evaluated on every request; the others once per credential (the decision is cached
	// on the Identity).
	readsRequest bool
	static       bool // some requirement reads neither
	clientIP     func(*http.Request) string
}

// decision is the outcome of a requireSet's claims-only requirements for one credential:
// failed is the index of the first one that does not hold, -1 when all hold.
type decision struct {
	set    *requireSet
	failed int
}

func newRequireSet(qs []Requirement, clientIP func(*http.Request) string) (*requireSet, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	s := &requireSet{clientIP: clientIP}
	for i, q := range qs {
		c, err := CompileRequirement(q)
		if err != nil {
			return nil, fmt.Errorf("require[%d] %q: %w", i, q.Name(), err)
		}
		s.list = append(s.list, c)
		s.readsRequest = s.readsRequest || c.readsRequest
		s.static = s.static || !c.readsRequest
	}
	return s, nil
}

// check returns the name of the first requirement the request's identity does not meet, or
// "" when all hold. An evaluation error (a missing key, the cost limit) denies.
func (s *requireSet) check(id *Identity, r *http.Request, now time.Time) string {
	if s.static {
		d := id.decision.Load()
		if d == nil || d.set != s {
			d = &decision{set: s, failed: s.eval(&activation{claims: id.celClaims}, false)}
			id.decision.Store(d)
		}
		if d.failed >= 0 {
			return s.list[d.failed].name
		}
	}
	if s.readsRequest {
		act := &activation{claims: id.celClaims, now: types.Timestamp{Time: now},
			request: types.NewStringStringMap(types.DefaultTypeAdapter, s.requestVars(r))}
		if i := s.eval(act, true); i >= 0 {
			return s.list[i].name
		}
	}
	return ""
}

// eval evaluates the requirements that read the request (perRequest) or the others, and
// returns the index of the first that does not hold, -1 when all hold.
func (s *requireSet) eval(act *activation, perRequest bool) int {
	for i, c := range s.list {
		if c.readsRequest != perRequest {
			continue
		}
		out, _, err := c.prg.Eval(act)
		if err != nil || out != types.True {
			return i
		}
	}
	return -1
}

// requestVars are the request's fields: the path is the one the upstream gets (non-canonical
// paths are refused before, see CheckPath).
func (s *requireSet) requestVars(r *http.Request) map[string]string {
	ip := ""
	if s.clientIP != nil {
		ip = s.clientIP(r)
	} else if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = h
	}
	return map[string]string{"method": r.Method, "path": r.URL.Path, "host": r.Host, "remote_ip": ip}
}

// activation resolves `claims` and `request` without building a map of variables.
type activation struct {
	claims  func() ref.Val
	request ref.Val
	now     ref.Val
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "claims":
		return a.claims(), true
	case "request":
		return a.request, a.request != nil
	case "now":
		return a.now, a.now != nil
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// celClaims returns the claims as expressions see them, built once per identity. Every
// known claim is present (empty when the token lacks it), so that an expression never
// fails on a missing claim.
func (id *Identity) celClaims() ref.Val {
	if m := id.claimsMap.Load(); m != nil {
		return *m
	}
	c := id.Claims
	custom := map[string]any{}
	if len(c.CustomData) > 0 {
		_ = json.Unmarshal(c.CustomData, &custom) // the verifier checked it is an object
	}
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	email := c.Email
	if !c.EmailVerified {
		email = "" // an unverified address is what the user typed at sign-up (CR-32)
	}
	m := map[string]any{
		"sub": c.Subject, "email": email, "email_verified": c.EmailVerified, "name": c.Name,
		"groups": orEmpty(id.Policy.Groups), "roles": orEmpty(c.Roles), "permissions": orEmpty(c.Permissions),
		"organization": c.Organization, "amr": orEmpty(c.AMR), "acr": c.ACR,
		"auth_time": time.Unix(c.AuthTime, 0).UTC(), "scope": c.Scope, "scopes": orEmpty(id.Policy.Scopes),
		"client_id": c.ClientID, "audience": orEmpty(c.Audience), "custom_data": custom,
	}
	if c.GrantType == idp.GrantTypeClientCredentials {
		// A client acting for itself is not a user (AS-30): no user claims.
		m["sub"], m["email"], m["name"] = "", "", ""
		m["roles"], m["permissions"], m["organization"] = []string{}, []string{}, ""
	}
	v := types.DefaultTypeAdapter.NativeToValue(m)
	id.claimsMap.Store(&v)
	return v
}

// requireDenied answers a request whose credential does not meet the requirement named
// missing: RFC 6750 §3.1 "insufficient_scope: The request requires higher privileges than
// provided by the access token. The resource server SHOULD respond with the HTTP 403
// (Forbidden) status code". A browser gets a page naming the requirement; neither says
// what the credential's claims are.
func (g *Guard) requireDenied(w http.ResponseWriter, r *http.Request, missing string) {
	desc := "this route requires: " + missing
	if isBrowser(r) {
		g.renderPage(w, r, http.StatusForbidden, pageData{Title: "Access denied",
			Message: pageT(r, "You are logged in, but this page requires %s, which your account does not meet. Ask an administrator for access, or log in with another account.", missing),
			Link:    g.LogoutPath, LinkText: "Log in as someone else"})
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", error_description="`+quoteSafe(desc)+`"`)
	writeError(w, http.StatusForbidden, "insufficient_scope", desc)
}
