package social

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/login/lockout"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Defaults of Limits.
const (
	DefaultMaxUnfinishedPerIP = 60
	DefaultLimitWindow        = 10 * time.Minute
)

// Limits bound the social logins a client IP may leave unfinished. Each start stores
// a state record for up to 10 minutes, and each callback may make Gatehouse redeem a code
// upstream: what an attacker gains from is starts that never finish, and callbacks that
// fail. A start is counted; a callback whose answer the provider vouches for (a verified ID
// token, or GitHub's user API) gives it back, so any number of successful logins may come
// from one address (an office behind one NAT).
type Limits struct {
	// MaxUnfinishedPerIP is how many logins started from one client IP (for IPv6, its /64)
	// within Window may be unfinished — abandoned, still running, or refused at the
	// callback — before further starts are refused until the window ends (default 60).
	MaxUnfinishedPerIP int
	// Window is the counting window (default 10m).
	Window time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxUnfinishedPerIP <= 0 {
		l.MaxUnfinishedPerIP = DefaultMaxUnfinishedPerIP
	}
	if l.Window <= 0 {
		l.Window = DefaultLimitWindow
	}
	return l
}

// LimitError: too many social logins from the client's network are unfinished; the
// caller must wait RetryAfter.
type LimitError struct {
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	mins := max(int(e.RetryAfter.Round(time.Minute)/time.Minute), 1)
	return fmt.Sprintf("too many logins were started from your network without being completed; try again in %d minute(s)", mins)
}

// Keys of a social login's state record that tie it to the counted start.
const (
	dataIP     = "ip"           // the client IP's rate-limit key (lockout.IPKey)
	dataWindow = "limit_window" // the counter's window end, Unix nanoseconds
)

// slot is a counted start.
type slot struct {
	ip  string // ipKey of the client; "" when not counted
	end time.Time
}

func counter(ip string) string { return "social:ip:" + ip }

// takeSlot counts a start from clientIP ("" is not counted), or refuses it with a
// *LimitError. A refused start is not counted.
func (m *Method) takeSlot(ctx context.Context, clientIP string) (slot, error) {
	if clientIP == "" {
		return slot{}, nil
	}
	lim, now, ip := m.Limits.withDefaults(), m.Now(), lockout.IPKey(clientIP)
	n, end, err := m.Store.IncrementCounter(ctx, counter(ip), 1, lim.Window, now)
	if err != nil {
		return slot{}, fmt.Errorf("count social login: %w", err)
	}
	if n > int64(lim.MaxUnfinishedPerIP) {
		_, _, _ = m.Store.IncrementCounter(ctx, counter(ip), -1, lim.Window, now)
		return slot{}, &LimitError{RetryAfter: end.Sub(now)}
	}
	return slot{ip: ip, end: end}, nil
}

// record puts the slot into the login's state record.
func (s slot) record(data map[string]string) {
	if s.ip != "" {
		data[dataIP] = s.ip
		data[dataWindow] = strconv.FormatInt(s.end.UnixNano(), 10)
	}
}

// slotOf reads the slot back from a state record.
func slotOf(rec store.OneTimeCode) slot {
	ns, err := strconv.ParseInt(rec.Data[dataWindow], 10, 64)
	if rec.Data[dataIP] == "" || err != nil {
		return slot{}
	}
	return slot{ip: rec.Data[dataIP], end: time.Unix(0, ns)}
}

// giveBack un-counts a start: one that could not go upstream, or whose answer the provider
// vouched for. Only within the window that counted it: a later window never goes below
// what it counted itself.
func (m *Method) giveBack(ctx context.Context, s slot) {
	if s.ip == "" {
		return
	}
	lim, now := m.Limits.withDefaults(), m.Now()
	n, end, err := m.Store.GetCounter(ctx, counter(s.ip), now)
	if err != nil || n <= 0 || end.Sub(s.end).Abs() > time.Second {
		return
	}
	_, _, _ = m.Store.IncrementCounter(ctx, counter(s.ip), -1, lim.Window, now)
}
