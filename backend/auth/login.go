package auth

import (
	"strings"
	"unicode/utf8"
)

// loginKey is the canonical form of a login, as migration 009's login_key computes it for employees'
// phones and emails: "e:" and the lowercased email, or "p:" and the phone number without spaces, dashes,
// dots or brackets, with a leading 00 read as + and an 11-digit mainland mobile number given +86. It is ""
// for a blank login. TestLoginKeyMatchesTheDatabase holds the two together.
func loginKey(v string) string {
	v = strings.Trim(v, " ")
	if v == "" {
		return ""
	}
	if strings.Contains(v, "@") {
		return "e:" + strings.ToLower(v)
	}
	d := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r', '(', ')', '.', '-':
			return -1
		}
		return r
	}, v)
	switch {
	case strings.HasPrefix(d, "+"):
	case strings.HasPrefix(d, "00"):
		d = "+" + d[2:]
	case len(d) == 11 && d[0] == '1' && allDigits(d):
		d = "+86" + d
	}
	return "p:" + d
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// maskLogin shows enough of a login for a log line to be useful and no more: the first three and last
// four characters of a phone number ("+86****8000"), the first character and the domain of an email.
func maskLogin(v string) string {
	k := loginKey(v)
	switch {
	case strings.HasPrefix(k, "e:"):
		local, domain, _ := strings.Cut(k[2:], "@")
		first, _ := utf8.DecodeRuneInString(local)
		if first == utf8.RuneError {
			return "***@" + domain
		}
		return string(first) + "***@" + domain
	case len(k) >= 11:
		return k[2:5] + "****" + k[len(k)-4:]
	}
	return "***"
}
