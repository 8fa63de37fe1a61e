package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// pcReviewLayouts are site layouts an independent review found the first version of the
// load-time check accepted although a non-canonical path could skip a policy (PX-13): a guard
// behind a header matcher, a guard in a named route, and handle_errors proxying a request that
// basic_auth failed before the guard ran. Each {SANITIZE} is empty for the unsafe variant and
// `gatehouse_sanitize` for the fixed one.
var pcReviewLayouts = map[string]string{
	"guard behind a header matcher": `
{{.App}} {
	bind 127.0.0.1
	{SANITIZE}
	@api header Authorization "Bearer *"
	handle @api {
		gatehouse_protect {
			client app
			scope read:docs
		}
		reverse_proxy PCUP
	}
	handle /admin/* {
		gatehouse_protect {
			client app
			group admins
		}
		reverse_proxy PCUP
	}
	handle {
		reverse_proxy PCUP
	}
}`,
	"guard in a named route": `
&(adminonly) {
	gatehouse_protect {
		client app
		group admins
	}
	reverse_proxy PCUP
}

{{.App}} {
	bind 127.0.0.1
	{SANITIZE}
	@admin path /admin /admin/*
	invoke @admin adminonly
	reverse_proxy PCUP
}`,
	"handle_errors after basic_auth": `
{{.App}} {
	bind 127.0.0.1
	{SANITIZE}
	basic_auth /private/* {
		bob $2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG
	}
	@admin path /admin /admin/*
	gatehouse_protect @admin {
		client app
		group admins
	}
	reverse_proxy PCUP
	handle_errors {
		reverse_proxy PCUP
	}
}`,
}

// TestPX13LoadRefusesUncheckedLayouts: each layout fails to load without gatehouse_sanitize,
// naming it; with gatehouse_sanitize at the top it loads and the attack paths are refused with
// 400 before reaching the upstream.
func TestPX13LoadRefusesUncheckedLayouts(t *testing.T) {
	up := newPCUpstream(t)
	e := Start(t, Config{Gatehouse: AppClient, Sites: AppSite})
	for name, layout := range pcReviewLayouts {
		t.Run(name, func(t *testing.T) {
			site := strings.ReplaceAll(layout, "PCUP", up.Addr())
			err := e.Load(Config{Gatehouse: AppClient, Sites: strings.ReplaceAll(site, "{SANITIZE}", "")})
			if err == nil || !strings.Contains(err.Error(), "gatehouse_sanitize") {
				t.Fatalf("unsafe layout: load error %v, want a refusal naming gatehouse_sanitize", err)
			}
			if err := e.Load(Config{Gatehouse: AppClient, Sites: strings.ReplaceAll(site, "{SANITIZE}", "gatehouse_sanitize")}); err != nil {
				t.Fatalf("with gatehouse_sanitize: %v", err)
			}
			for i, p := range []string{"/admin//../secret", "/public/..;/admin/secret", "/private/..;/admin/secret"} {
				id := name + string(rune('a'+i))
				r, err := pcSendH1(e.AppAddr(), p, [][2]string{{"X-Px13-Id", id}})
				if err != nil {
					t.Fatal(err)
				}
				if _, forwarded := up.Seen(id); forwarded || r.Status != http.StatusBadRequest {
					t.Errorf("GET %s: HTTP %d, forwarded %v; want 400 before the upstream", p, r.Status, forwarded)
				}
			}
		})
	}
}
