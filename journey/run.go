package journey

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Eval evaluates x over the run's context (user, request, journey, device, now), adding
// its cost to rc.Cost.
func (rc *Run) Eval(ctx context.Context, x *Expr) (any, error) {
	v, cost, err := rc.Engine.Env.Eval(ctx, x, rc.vars(rc.User))
	rc.Cost += cost
	return v, err
}

// vars is the CEL activation of the run.
func (rc *Run) vars(u *store.User) map[string]any {
	return map[string]any{
		"user":    userMap(u),
		"request": rc.Request.celMap(),
		"journey": valuesMap(rc.State.Values),
		"device":  map[string]any{"known": rc.Device.Known || rc.State.DeviceKnown, "user_agent": rc.Device.UserAgent},
		"now":     rc.Now.UTC().Truncate(time.Second),
	}
}

func valuesMap(v map[string]any) map[string]any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

// userMap is the user as the seed describes it: its JSON form, field names as the claims.
func userMap(u *store.User) map[string]any {
	out := map[string]any{}
	if u == nil {
		return out
	}
	b, err := json.Marshal(u)
	if err != nil {
		return out
	}
	_ = json.Unmarshal(b, &out)
	delete(out, "webauthn_id")
	return out
}

func (r Request) celMap() map[string]any {
	str := func(m map[string]string) map[string]any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	list := func(l []string) []any {
		out := make([]any, len(l))
		for i, v := range l {
			out[i] = v
		}
		return out
	}
	return map[string]any{"client_id": r.ClientID, "scopes": list(r.Scopes), "acr_values": list(r.ACRValues),
		"query": str(r.Query), "pushed": str(r.Pushed)}
}
