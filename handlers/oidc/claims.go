package oidc

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/account/input"
	"github.com/gatehouse-dev/gatehouse/tokens/issue"
)

// maxClaimsRequest bounds the claims request parameter (RB-05).
const maxClaimsRequest = 8 * 1024

// parseClaimsRequest parses the claims request parameter (OIDC Core §5.5): a JSON object of
// at most 8 KB, nested at most 5 deep, whose id_token and userinfo members map claim names
// to null or to an object with essential (boolean), value, values (array) and fields (array
// of strings). Anything else is invalid_request.
func parseClaimsRequest(raw string) (*issue.ClaimsRequest, *apiError) {
	bad := func(format string, args ...any) (*issue.ClaimsRequest, *apiError) {
		return nil, &apiError{Code: codeInvalidRequest, Description: "claims: " + fmt.Sprintf(format, args...)}
	}
	if len(raw) > maxClaimsRequest {
		return bad("larger than %d bytes", maxClaimsRequest)
	}
	if d := input.JSONDepth(raw); d < 0 || d > 5 {
		return bad("not a JSON object, or nested too deep")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &top); err != nil || top == nil {
		return bad("not a JSON object")
	}
	req := &issue.ClaimsRequest{}
	for member, target := range map[string]*map[string]*issue.ClaimSpec{"id_token": &req.IDToken, "userinfo": &req.Userinfo} {
		v, ok := top[member]
		if !ok || string(v) == "null" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(v, &m); err != nil {
			return bad("%s must be an object", member)
		}
		if len(m) > 64 {
			return bad("%s requests more than 64 claims", member)
		}
		out := make(map[string]*issue.ClaimSpec, len(m))
		for name, spec := range m {
			if name == "" || len(name) > 128 {
				return bad("invalid claim name")
			}
			if string(spec) == "null" {
				out[name] = nil
				continue
			}
			cs := new(issue.ClaimSpec)
			dec := json.NewDecoder(strings.NewReader(string(spec)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(cs); err != nil {
				return bad("%s.%s: use null or an object with essential, value, values, fields", member, input.Sanitize(name))
			}
			if len(cs.Fields) > 100 {
				return bad("%s.%s: at most 100 fields", member, input.Sanitize(name))
			}
			out[name] = cs
		}
		*target = out
	}
	return req, nil
}
