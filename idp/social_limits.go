package idp

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Defaults of SocialLimits.
const (
	DefaultSocialMaxUnfinishedPerIP = 60
	DefaultSocialLimitWindow        = 10 * time.Minute
)

// SocialLimits bound the social logins a client IP may leave unfinished. Each start stores
// a state record for up to 10 minutes, and each callback may make Gatehouse redeem a code
// upstream: what an attacker gains from is starts that never finish, and callbacks that
// fail. A start is counted; a callback whose answer the provider vouches for (a verified ID
// token, or GitHub's user API) gives it back, so any number of successful logins may come
// from one address (an office behind one NAT).
type SocialLimits struct {
	// MaxUnfinishedPerIP is how many logins started from one client IP (for IPv6, its /64)
	// within Window may be unfinished — abandoned, still running, or refused at the
	// callback — before further starts are refused until the window ends (default 60).
	MaxUnfinishedPerIP int
	// Window is the counting window (default 10m).
	Window time.Duration
}

func (l SocialLimits) withDefaults() SocialLimits {
	if l.MaxUnfinishedPerIP <= 0 {
		l.MaxUnfinishedPerIP = DefaultSocialMaxUnfinishedPerIP
	}
	if l.Window <= 0 {
		l.Window = DefaultSocialLimitWindow
	}
	return l
}

// SocialLimitError: too many social logins from the client's network are unfinished; the
// caller must wait RetryAfter.
type SocialLimitError struct {
	RetryAfter time.Duration
}

func (e *SocialLimitError) Error() string {
	mins := max(int(e.RetryAfter.Round(time.Minute)/time.Minute), 1)
	return fmt.Sprintf("too many logins were started from your network without being completed; try again in %d minute(s)", mins)
}

// Keys of a social login's state record that tie it to the counted start.
const (
	socialDataIP     = "ip"           // the client IP's rate-limit key (ipKey)
	socialDataWindow = "limit_window" // the counter's window end, Unix nanoseconds
)

// socialSlot is a counted start.
type socialSlot struct {
	ip  string // ipKey of the client; "" when not counted
	end time.Time
}

func socialCounter(ip string) string { return "social:ip:" + ip }

// takeSocialSlot counts a start from clientIP ("" is not counted), or refuses it with a
// *SocialLimitError. A refused start is not counted.
func (p *Provider) takeSocialSlot(ctx context.Context, clientIP string) (socialSlot, error) {
	if clientIP == "" {
		return socialSlot{}, nil
	}
	lim, now, ip := p.SocialLimits.withDefaults(), p.Now(), ipKey(clientIP)
	n, end, err := p.Store.IncrementCounter(ctx, socialCounter(ip), 1, lim.Window, now)
	if err != nil {
		return socialSlot{}, fmt.Errorf("count social login: %w", err)
	}
	if n > int64(lim.MaxUnfinishedPerIP) {
		_, _, _ = p.Store.IncrementCounter(ctx, socialCounter(ip), -1, lim.Window, now)
		return socialSlot{}, &SocialLimitError{RetryAfter: end.Sub(now)}
	}
	return socialSlot{ip: ip, end: end}, nil
}

// record puts the slot into the login's state record.
func (s socialSlot) record(data map[string]string) {
	if s.ip != "" {
		data[socialDataIP] = s.ip
		data[socialDataWindow] = strconv.FormatInt(s.end.UnixNano(), 10)
	}
}

// slotOf reads the slot back from a state record.
func slotOf(rec store.OneTimeCode) socialSlot {
	ns, err := strconv.ParseInt(rec.Data[socialDataWindow], 10, 64)
	if rec.Data[socialDataIP] == "" || err != nil {
		return socialSlot{}
	}
	return socialSlot{ip: rec.Data[socialDataIP], end: time.Unix(0, ns)}
}

// giveBack un-counts a start: one that could not go upstream, or whose answer the provider
// vouched for. Only within the window that counted it: a later window never goes below
// what it counted itself.
func (p *Provider) giveBack(ctx context.Context, s socialSlot) {
	if s.ip == "" {
		return
	}
	lim, now := p.SocialLimits.withDefaults(), p.Now()
	n, end, err := p.Store.GetCounter(ctx, socialCounter(s.ip), now)
	if err != nil || n <= 0 || end.Sub(s.end).Abs() > time.Second {
		return
	}
	_, _, _ = p.Store.IncrementCounter(ctx, socialCounter(s.ip), -1, lim.Window, now)
}
