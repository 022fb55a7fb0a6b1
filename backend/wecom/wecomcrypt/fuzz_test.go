package wecomcrypt_test

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/salesapp/scrm/backend/wecom/wecomcrypt"
)

// What WeCom encrypts decrypts to itself for its receiver only; and a ciphertext anyone makes, even one
// signed with the right token, is refused or opened, never a panic nor a slice out of range (the length
// field and the padding are attacker-chosen once the signature is known).
func FuzzDecrypt(f *testing.F) {
	f.Add([]byte("<xml><MsgId>1</MsgId></xml>"), corpID, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add([]byte{}, "", "")
	f.Add(bytes.Repeat([]byte{0xff}, 70), "ww", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{32}, 64)))
	c, err := wecomcrypt.New(token, aesKey)
	if err != nil {
		f.Fatal(err)
	}
	const ts, nonce = "1409659813", "1372623149"
	f.Fuzz(func(t *testing.T, msg []byte, receiveID, forged string) {
		enc, sig := c.Encrypt(msg, receiveID, ts, nonce)
		got, err := c.Decrypt(sig, ts, nonce, enc, receiveID)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %d bytes for %q: %v", len(msg), receiveID, err)
		}
		if receiveID != corpID {
			if _, err := c.Decrypt(sig, ts, nonce, enc, corpID); err == nil {
				t.Fatalf("a message for %q opened for %q", receiveID, corpID)
			}
		}
		if _, err := c.Decrypt(sig, ts, nonce+"1", enc, receiveID); err == nil {
			t.Fatal("a signature for another nonce was accepted")
		}
		_, _ = c.Decrypt(c.Signature(ts, nonce, forged), ts, nonce, forged, receiveID)
	})
}
