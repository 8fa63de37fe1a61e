package reqpath

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzCheck: whatever a client sends, a path Check accepts reads the same under every
// resolution an upstream may apply (THREATS PX-13): RFC 3986 dot-segment removal,
// Caddy's clean-and-merge, WHATWG's backslash-as-slash and %2e-as-dot, Tomcat's ';'
// parameters, a second percent-decoding, and Windows' trailing-dot trimming all leave it
// unchanged.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"/", "/admin/x", "/admin//../x", "/a/%2e%2e/b", "/a;b", "/%2561", "/a%20/b",
		"/wiki/Z%C3%BCrich", "/%EF%BD%81", "/a/./b", "/a\\b", "/a%5cb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
			return
		}
		esc, dec := u.EscapedPath(), u.Path
		if Check(esc, dec) != nil {
			return
		}
		resolutions := map[string]string{
			"clean":         cleanKeepTrailing(dec),
			"whatwg":        whatwg(esc),
			"tomcat":        tomcat(esc),
			"double-decode": doubleDecode(esc),
			"windows-trim":  windowsTrim(dec),
		}
		for name, got := range resolutions {
			if got != dec {
				t.Fatalf("accepted %q (decoded %q) resolves to %q under %s", esc, dec, got, name)
			}
		}
	})
}

func cleanKeepTrailing(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// whatwg resolves like the URL standard's path parser for special schemes.
func whatwg(esc string) string {
	s := strings.ReplaceAll(esc, "\\", "/")
	var out []string
	segs := strings.Split(s[1:], "/")
	for i, seg := range segs {
		l := strings.ToLower(seg)
		switch l {
		case "..", ".%2e", "%2e.", "%2e%2e":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case ".", "%2e":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	r := "/" + strings.Join(out, "/")
	d, err := url.PathUnescape(r)
	if err != nil {
		return "!" + r
	}
	return d
}

func tomcat(esc string) string {
	segs := strings.Split(esc, "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, ';'); j >= 0 {
			segs[i] = s[:j]
		}
	}
	d, err := url.PathUnescape(strings.Join(segs, "/"))
	if err != nil {
		return "!"
	}
	return cleanKeepTrailing(d)
}

func doubleDecode(esc string) string {
	d, err := url.PathUnescape(esc)
	if err != nil {
		return "!"
	}
	if dd, err := url.PathUnescape(d); err == nil {
		return dd
	}
	return d
}

func windowsTrim(dec string) string {
	segs := strings.Split(dec, "/")
	for i, s := range segs {
		if i == len(segs)-1 && s == "" {
			continue
		}
		segs[i] = strings.TrimRight(s, ". ")
	}
	return strings.Join(segs, "/")
}
