package journey

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"google.golang.org/protobuf/types/known/structpb"
)

// DefaultCostLimit bounds the runtime cost of one expression evaluation (cel.CostLimit):
// enough for conditions over a user's data, far below what nested comprehensions over
// large lists cost.
const DefaultCostLimit = 10000

// DefaultEvalTimeout bounds the wall time of one evaluation.
const DefaultEvalTimeout = 100 * time.Millisecond

// Env is the CEL environment of journey expressions. Its variables (the documented
// context, doc.go):
//
//	user     map: the user's fields by their claim names (email, fname, custom_data ...);
//	         empty while the journey holds no user
//	request  map: client_id, scopes (list), acr_values (list), query (map of the
//	         authorization request's or start URL's parameters, browser-supplied),
//	         pushed (map of the pushed authorization request's parameters, trusted)
//	journey  map: the values collected so far (identify, collect), by name
//	device   map: known (bool), user_agent
//	now      timestamp
type Env struct {
	env *cel.Env
	// CostLimit and Timeout bound every evaluation.
	CostLimit uint64
	Timeout   time.Duration
}

// NewEnv returns the journey expression environment.
func NewEnv() (*Env, error) {
	m := cel.MapType(cel.StringType, cel.DynType)
	env, err := cel.NewEnv(cel.Variable("user", m), cel.Variable("request", m), cel.Variable("journey", m),
		cel.Variable("device", m), cel.Variable("now", cel.TimestampType))
	if err != nil {
		return nil, fmt.Errorf("journey expressions: %w", err)
	}
	return &Env{env: env, CostLimit: DefaultCostLimit, Timeout: DefaultEvalTimeout}, nil
}

// Expr is a compiled, type-checked expression.
type Expr struct {
	Source string
	prg    cel.Program
	ast    *cel.Ast
}

// Compile type-checks src; want is the type the result must have (nil: any). The error
// text is CEL's, naming the position in the expression.
func (e *Env) Compile(src string, want *cel.Type) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("the expression is empty")
	}
	if len(src) > 4096 {
		return nil, errors.New("the expression is longer than 4096 characters")
	}
	a, iss := e.env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("expression %q does not compile: %s", src, strings.ReplaceAll(iss.Err().Error(), "\n", " "))
	}
	if want != nil {
		got := a.OutputType()
		if !got.IsExactType(want) && !got.IsExactType(cel.DynType) {
			return nil, fmt.Errorf("expression %q is of type %s, want %s", src, got, want)
		}
	}
	prg, err := e.env.Program(a, cel.CostLimit(e.CostLimit), cel.InterruptCheckFrequency(64),
		cel.EvalOptions(cel.OptTrackCost))
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	return &Expr{Source: src, prg: prg, ast: a}, nil
}

// Eval evaluates x over the run's context within the cost limit and time bound. Any
// failure wraps ErrExpression. cost is the evaluation's actual CEL cost.
func (e *Env) Eval(ctx context.Context, x *Expr, vars map[string]any) (v any, cost uint64, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.Timeout)
	defer cancel()
	out, det, err := x.prg.ContextEval(ctx, vars)
	if det != nil && det.ActualCost() != nil {
		cost = *det.ActualCost()
	}
	if err != nil {
		return nil, cost, fmt.Errorf("%w: %q: %v", ErrExpression, x.Source, err)
	}
	if types.IsError(out) {
		return nil, cost, fmt.Errorf("%w: %q: %v", ErrExpression, x.Source, out)
	}
	v, err = native(out)
	if err != nil {
		return nil, cost, fmt.Errorf("%w: %q: %v", ErrExpression, x.Source, err)
	}
	return v, cost, nil
}

// native converts a CEL value to plain Go (JSON-like) values.
func native(v ref.Val) (any, error) {
	switch v.Type() {
	case types.BoolType, types.StringType, types.IntType, types.UintType, types.DoubleType, types.NullType:
		return v.Value(), nil
	case types.TimestampType:
		return v.Value().(time.Time).UTC().Format(time.RFC3339), nil
	}
	j, err := v.ConvertToNative(types.JSONValueType)
	if err != nil {
		return nil, fmt.Errorf("the result cannot be stored: %w", err)
	}
	pv, ok := j.(*structpb.Value)
	if !ok {
		return nil, errors.New("the result cannot be stored")
	}
	return pv.AsInterface(), nil
}

// ReadsOnlyPushed reports whether x reads nothing but request.pushed.<name> (or
// request.pushed["<name>"]) and literals: the only source an external_user_id may come
// from, since a browser can set anything else (the query, collected values).
func (x *Expr) ReadsOnlyPushed() bool { return onlyPushed(x.ast.NativeRep().Expr()) }

// References reports whether x reads the variable name.
func (x *Expr) References(name string) bool { return references(x.ast.NativeRep().Expr(), name) }

func isPushedMap(e ast.Expr) bool {
	if e.Kind() != ast.SelectKind {
		return false
	}
	s := e.AsSelect()
	op := s.Operand()
	return s.FieldName() == "pushed" && !s.IsTestOnly() && op.Kind() == ast.IdentKind && op.AsIdent() == "request"
}

func onlyPushed(e ast.Expr) bool {
	switch e.Kind() {
	case ast.LiteralKind:
		return true
	case ast.SelectKind:
		s := e.AsSelect()
		if isPushedMap(s.Operand()) {
			return true
		}
		return !isPushedMap(e) && onlyPushed(s.Operand()) && s.Operand().Kind() == ast.SelectKind
	case ast.CallKind:
		c := e.AsCall()
		args := c.Args()
		if c.FunctionName() == "_[_]" && len(args) == 2 && isPushedMap(args[0]) {
			return onlyPushed(args[1])
		}
		if c.IsMemberFunction() && !onlyPushed(c.Target()) {
			return false
		}
		for _, a := range args {
			if !onlyPushed(a) {
				return false
			}
		}
		return true
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			if !onlyPushed(el) {
				return false
			}
		}
		return true
	}
	// Identifiers (a whole variable), maps, structs and comprehensions are refused.
	return false
}

func references(e ast.Expr, name string) bool {
	switch e.Kind() {
	case ast.IdentKind:
		return e.AsIdent() == name
	case ast.SelectKind:
		return references(e.AsSelect().Operand(), name)
	case ast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() && references(c.Target(), name) {
			return true
		}
		for _, a := range c.Args() {
			if references(a, name) {
				return true
			}
		}
	case ast.ListKind:
		for _, el := range e.AsList().Elements() {
			if references(el, name) {
				return true
			}
		}
	case ast.MapKind:
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			if references(me.Key(), name) || references(me.Value(), name) {
				return true
			}
		}
	case ast.ComprehensionKind:
		c := e.AsComprehension()
		for _, sub := range []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
			if references(sub, name) {
				return true
			}
		}
	}
	return false
}
