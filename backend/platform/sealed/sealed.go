// Package sealed keeps secrets at rest (a tenant's WeCom app secret, its callback keys) encrypted with
// AES-256-GCM under keys from the configuration (SALESD_SECRET_KEYS). A sealed value names the key it was
// sealed with, so keys rotate: the first key seals, every key opens, and a value sealed under an older key
// is sealed again under the first one (Rewrap) until the old key can be dropped.
//
// Each value is bound to what it is (its associated data: the tenant and the field), so a sealed value
// copied into another tenant's row or another column does not open.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// prefix marks the format: "v1:<key id>:<base64url of nonce || ciphertext || tag>".
const prefix = "v1:"

// ErrOpen is returned for a value that does not open: tampered, bound to other data, or sealed under a key
// the configuration no longer holds.
var ErrOpen = errors.New("sealed: value does not open")

// Key is one configured key.
type Key struct {
	// ID names the key inside sealed values: letters, digits, '-' and '_', at most 16.
	ID string
	// Secret is 32 bytes.
	Secret []byte
}

// Sealer seals with its first key and opens with any.
type Sealer struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New builds a sealer; keys[0] seals.
func New(keys []Key) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("sealed: no key")
	}
	s := &Sealer{current: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if !validID(k.ID) {
			return nil, fmt.Errorf("sealed: key id %q: letters, digits, - and _ only, 1 to 16", k.ID)
		}
		if len(k.Secret) != 32 {
			return nil, fmt.Errorf("sealed: key %s: must be 32 bytes", k.ID)
		}
		if _, dup := s.aeads[k.ID]; dup {
			return nil, fmt.Errorf("sealed: key id %s given twice", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads[k.ID] = aead
	}
	return s, nil
}

// ParseKeys reads "id:base64,id:base64" (standard or URL base64 of 32 bytes), the first key sealing.
func ParseKeys(v string) ([]Key, error) {
	var keys []Key
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok {
			return nil, errors.New("each key must be id:base64")
		}
		secret, err := decode64(b64)
		if err != nil || len(secret) != 32 {
			return nil, fmt.Errorf("key %s: must be the base64 of 32 bytes", id)
		}
		if !validID(id) {
			return nil, fmt.Errorf("key id %q: letters, digits, - and _ only, 1 to 16", id)
		}
		for _, k := range keys {
			if k.ID == id {
				return nil, fmt.Errorf("key id %s given twice", id)
			}
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, errors.New("must not be empty")
	}
	return keys, nil
}

func decode64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func validID(id string) bool {
	if id == "" || len(id) > 16 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// CurrentKey is the id of the key that seals.
func (s *Sealer) CurrentKey() string { return s.current }

// Seal encrypts plaintext under the current key, bound to ad.
func (s *Sealer) Seal(plaintext, ad []byte) string {
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("sealed: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	out := aead.Seal(nonce, nonce, plaintext, ad)
	return prefix + s.current + ":" + base64.RawURLEncoding.EncodeToString(out)
}

// KeyOf is the id of the key value was sealed under ("" when value is not a sealed value).
func KeyOf(value string) string {
	rest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, ":")
	if !ok {
		return ""
	}
	return id
}

// Open decrypts value, which must have been sealed with the same ad under a key the sealer holds.
func (s *Sealer) Open(value string, ad []byte) ([]byte, error) {
	rest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return nil, ErrOpen
	}
	id, body, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, ErrOpen
	}
	aead, ok := s.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: key %s is not configured", ErrOpen, id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// Rewrap returns value sealed under the current key (value itself when it already is), and whether it
// changed.
func (s *Sealer) Rewrap(value string, ad []byte) (string, bool, error) {
	if KeyOf(value) == s.current {
		return value, false, nil
	}
	pt, err := s.Open(value, ad)
	if err != nil {
		return "", false, err
	}
	return s.Seal(pt, ad), true, nil
}
