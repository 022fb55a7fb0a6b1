package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/salesapp/scrm/backend/card"
)

// VCardHandler serves GET /s/{token}/vcard: the salesperson's contact as a vCard 3.0 file, which phones
// offer to add to the address book.
func (s *Service) VCardHandler(w http.ResponseWriter, r *http.Request) {
	if !s.pageAllowed(w, r) {
		return
	}
	p, ok := s.openPage(w, r)
	if !ok {
		return
	}
	if s.SignInGate(w, r, p, s.visitor(w, r)) {
		return
	}
	name := p.Card.DisplayName
	if name == "" {
		name = "contact"
	}
	h := w.Header()
	h.Set("Content-Type", "text/vcard; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="contact.vcf"; filename*=UTF-8''`+url.PathEscape(name+".vcf"))
	h.Set("Cache-Control", "private, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(VCard(p.Card, s.URL(p.Share.Token))))
}

// VCard is the card as a vCard 3.0 (RFC 2426): name, organization, title, phone, email, WeChat id and the
// link of the page, with CRLF line ends and lines folded at 75 octets.
func VCard(c card.View, pageURL string) string {
	var b strings.Builder
	line := func(name, value string) {
		if value == "" {
			return
		}
		writeFolded(&b, name+":"+value)
	}
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\n")
	writeFolded(&b, "FN:"+vcardText(c.DisplayName))
	writeFolded(&b, "N:"+vcardText(c.DisplayName)+";;;;")
	line("ORG", vcardText(c.Company.Name))
	line("TITLE", vcardText(c.Title))
	if tel := telURL(c.Phone); tel != "" {
		line("TEL;TYPE=CELL,VOICE", strings.TrimPrefix(string(tel), "tel:"))
	}
	line("EMAIL;TYPE=INTERNET", vcardText(c.Email))
	if c.Company.Address != "" {
		line("ADR;TYPE=WORK", ";;"+vcardText(c.Company.Address)+";;;;")
	}
	line("URL", vcardText(c.Company.Website))
	if c.WeChatID != "" {
		line("NOTE", vcardText("微信号："+c.WeChatID))
		line("X-WECHAT", vcardText(c.WeChatID))
	}
	line("URL;TYPE=CARD", vcardText(pageURL))
	b.WriteString("END:VCARD\r\n")
	return b.String()
}

// vcardText escapes a text value: backslash, comma, semicolon and line breaks.
func vcardText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// writeFolded writes a content line, folded so that no line exceeds 75 octets (a continuation starts
// with a space), never inside a UTF-8 character.
func writeFolded(b *strings.Builder, l string) {
	limit := 75
	for len(l) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		b.WriteString(l[:cut])
		b.WriteString("\r\n ")
		l = l[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(l)
	b.WriteString("\r\n")
}
