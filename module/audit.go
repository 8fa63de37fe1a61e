package module

import (
	"context"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/gatehouse-dev/gatehouse/audit"
)

// AuditConfig sets the audit trail: every security event and administrator write is one
// line on the `gatehouse.audit` logger (route it with Caddy's `log` global option) and one
// record in the store, kept for Retain.
type AuditConfig struct {
	// Retain is how long the store keeps an event (default 90d; 0 is refused: the store
	// would keep nothing an administrator could look at). The log lines are kept as long as
	// the log pipeline keeps them.
	Retain *caddy.Duration `json:"retain,omitempty"`
}

// retain returns the configured retention or the default.
func (c *AuditConfig) retain() time.Duration {
	if c == nil || c.Retain == nil {
		return audit.DefaultRetain
	}
	return time.Duration(*c.Retain)
}

func (c *AuditConfig) check(v *Validator, path string) {
	if c == nil || c.Retain == nil {
		return
	}
	if *c.Retain <= 0 {
		v.Errorf(path+".retain", "must be a positive duration such as 90d (the default) or 365d, got %s: the audit trail cannot be turned off, and a retention of 0 would keep nothing", time.Duration(*c.Retain))
	}
}

// newTrail builds the app's audit trail: the gatehouse.audit logger, the store with the
// retention, store failures logged and counted.
func (a *App) newTrail(logger *zap.Logger, m *appMetrics) *audit.Trail {
	t := &audit.Trail{Store: a.store, Retain: a.Audit.retain(), Logger: a.slog,
		// Caddy's client IP (trusted_proxies respected) of the request being served.
		ClientIP: func(ctx context.Context) string {
			ip, _ := caddyhttp.GetVar(ctx, caddyhttp.ClientIPVarKey).(string)
			return ip
		}}
	if m != nil {
		t.Failures = m.auditFailures
	}
	alog := logger.Named("audit")
	t.Log = func(e audit.Event) { alog.Info(e.Type, auditFields(e)...) }
	return t
}

// auditFields are the event's fields as zap fields (JSON with Caddy's default encoder).
func auditFields(e audit.Event) []zap.Field {
	f := []zap.Field{zap.String("id", e.ID), zap.String("time", e.Time.Format(time.RFC3339Nano)), zap.String("type", e.Type)}
	for _, kv := range [...]struct{ k, v string }{{"actor", e.Actor}, {"user_id", e.UserID}, {"client_id", e.ClientID},
		{"ip", e.IP}, {"method", e.Method}, {"reason", e.Reason}} {
		if kv.v != "" {
			f = append(f, zap.String(kv.k, kv.v))
		}
	}
	if len(e.Details) > 0 {
		f = append(f, zap.Object("details", stringMap(e.Details)))
	}
	return f
}

// stringMap logs a map[string]string as an object.
type stringMap map[string]string

func (m stringMap) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for k, v := range m {
		enc.AddString(k, v)
	}
	return nil
}
